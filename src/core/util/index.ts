/** Small pure helpers shared by core modules (checksums, …). */
export { crc32c } from "./crc32c.ts";
