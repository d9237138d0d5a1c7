/** Durable deletion of keys through the group committer (recovery cleanup, truncation, repair). */
import type { Database, Key } from "lmdb";
import type { NeuroGraphError } from "../../core/errors.ts";
import type { WalEnvironment } from "./environment.ts";

/** What a remove counts against a transaction's byte budget. */
export const REMOVE_CHARGE = 64;

/** Removes `keys` from `db`; resolves once the removals are durable. */
export function removeKeys(env: WalEnvironment, db: Database<Uint8Array, Key>, keys: readonly Key[]): Promise<void> {
  if (keys.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let left = keys.length;
    let failed = false;
    const listener = {
      committed(): void {
        if (--left === 0 && !failed) resolve();
      },
      failed(error: NeuroGraphError): void {
        if (!failed) reject(error);
        failed = true;
      },
    };
    for (const key of keys) env.committer.enqueue({ db, key, value: undefined }, REMOVE_CHARGE, listener);
  });
}
