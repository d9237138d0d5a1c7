/** A growable column buffer of connection keys, filled during one call, returned as EdgeKeys. */
import type { EdgeKeys } from "./types.ts";

export class KeyBuffer {
  private sources = new Uint32Array(16);
  private targets = new Uint32Array(16);
  private types = new Uint8Array(16);
  private n = 0;

  push(source: number, target: number, type: number): void {
    if (this.n === this.sources.length) {
      const cap = this.n * 2;
      const s = new Uint32Array(cap);
      s.set(this.sources);
      const t = new Uint32Array(cap);
      t.set(this.targets);
      const y = new Uint8Array(cap);
      y.set(this.types);
      this.sources = s;
      this.targets = t;
      this.types = y;
    }
    this.sources[this.n] = source;
    this.targets[this.n] = target;
    this.types[this.n] = type;
    this.n++;
  }

  toKeys(): EdgeKeys {
    return {
      count: this.n,
      sources: this.sources.slice(0, this.n),
      targets: this.targets.slice(0, this.n),
      types: this.types.slice(0, this.n),
    };
  }
}
