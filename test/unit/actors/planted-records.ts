/**
 * Planted structure as packed records for tests that write through the router or gRPC: `groups`
 * groups of `size` tokens (ids 1..groups·size, group g = ids g·size+1 …), 4 connections per token
 * inside its group and one to a sibling group of its super-group every other token; random
 * positions in ±8 decoded units of L1 and L3, radius 2.5, strength 1.
 */
import { CONNECTION_RECORD_SIZE, ConnectionOffset } from "../../../src/core/connection/layout.ts";
import { SeededRandom } from "../../../src/core/field/prng.ts";
import { encodeToken, tokenFields } from "../../../src/core/token/codec.ts";

export interface PlantedRecords {
  readonly tokens: Uint8Array;
  readonly connections: Uint8Array;
  readonly groupOf: Int32Array;
}

export function plantedRecords(seed: number, groups: number, size: number, perSuper: number): PlantedRecords {
  const rnd = new SeededRandom(seed);
  const n = groups * size;
  const tokens = new Uint8Array(n * 64);
  for (let i = 0; i < n; i++) {
    const coords = new Array<number>(24).fill(0);
    for (const s of [0, 2]) for (let a = 0; a < 3; a++) coords[s * 3 + a] = Math.round(rnd.range(-8, 8) * 100) / 100;
    encodeToken(tokenFields(i + 1, 1_700_000_000, { coords, fieldRadius: 2.5, fieldStrength: 1 }), tokens, i);
  }
  const edges: [number, number][] = [];
  for (let g = 0; g < groups; g++) {
    const sup = Math.floor(g / perSuper);
    for (let k = 0; k < size; k++) {
      const a = g * size + k;
      for (let e = 0; e < 4; e++) edges.push([a, g * size + rnd.nextInt(size)]);
      if (perSuper > 1 && rnd.next() < 0.5) {
        const sib = sup * perSuper + (((g % perSuper) + 1) % perSuper);
        edges.push([a, sib * size + rnd.nextInt(size)]);
      }
    }
  }
  const unique = [...new Map(edges.filter(([a, b]) => a !== b).map(([a, b]) => [`${a}>${b}`, [a, b] as const])).values()];
  const connections = new Uint8Array(unique.length * CONNECTION_RECORD_SIZE);
  const dv = new DataView(connections.buffer);
  unique.forEach(([a, b], i) => {
    const o = i * CONNECTION_RECORD_SIZE;
    dv.setUint32(o + ConnectionOffset.source, a + 1, true);
    dv.setUint32(o + ConnectionOffset.target, b + 1, true);
    dv.setUint16(o + ConnectionOffset.flags, 1, true);
    dv.setUint8(o + ConnectionOffset.mutability, 1);
    dv.setFloat32(o + ConnectionOffset.rigidity, 0.5, true);
    dv.setFloat32(o + ConnectionOffset.pullStrength, 1, true);
    dv.setFloat32(o + ConnectionOffset.preferredDistance, 0.1, true);
    dv.setFloat32(o + ConnectionOffset.confidence, 0.8, true);
  });
  return { tokens, connections, groupOf: Int32Array.from({ length: n }, (_, i) => Math.floor(i / size)) };
}
