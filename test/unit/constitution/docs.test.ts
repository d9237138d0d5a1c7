import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConnectionRule, defaultSections, DocumentRule } from "../../../src/core/constitution/index.ts";

const docs = readFileSync(new URL("../../../docs/constitution.md", import.meta.url), "utf8");
const proto = readFileSync(new URL("../../../proto/neurograph/v1/constitution.proto", import.meta.url), "utf8");
const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

describe("docs/constitution.md", () => {
  it("documents every parameter in its section's table, and the proto declares each", () => {
    const doc = defaultSections() as unknown as Record<string, Record<string, unknown> | number>;
    for (const [section, fields] of Object.entries(doc)) {
      if (typeof fields !== "object") continue;
      const heading = docs.indexOf(`### ${section}`);
      expect(heading, section).toBeGreaterThan(0);
      const next = docs.indexOf("\n### ", heading + 1);
      const body = docs.slice(heading, next === -1 ? undefined : next);
      for (const key of Object.keys(fields)) {
        expect(body, `${section}.${snake(key)}`).toContain(`| \`${snake(key)}\` |`);
        expect(proto, `${section}.${snake(key)}`).toMatch(new RegExp(`\\s${snake(key)} = \\d+;`));
      }
    }
  });

  it("documents every validation rule", () => {
    for (const rule of [...Object.values(DocumentRule), ...Object.values(ConnectionRule)]) expect(docs, rule).toContain(`\`${rule}\``);
  });
});
