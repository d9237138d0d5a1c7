/**
 * Typed-array allocation over a plain or a shared buffer. Kernel inputs and outputs that worker
 * threads read live in SharedArrayBuffers; a worker wraps the same buffers in the same views.
 */

function buffer(bytes: number, shared: boolean): ArrayBuffer | SharedArrayBuffer {
  return shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

export function allocInt16(n: number, shared = false): Int16Array {
  return new Int16Array(buffer(n * 2, shared));
}
export function allocInt32(n: number, shared = false): Int32Array {
  return new Int32Array(buffer(n * 4, shared));
}
export function allocUint16(n: number, shared = false): Uint16Array {
  return new Uint16Array(buffer(n * 2, shared));
}
export function allocUint32(n: number, shared = false): Uint32Array {
  return new Uint32Array(buffer(n * 4, shared));
}
export function allocUint8(n: number, shared = false): Uint8Array {
  return new Uint8Array(buffer(n, shared));
}
export function allocFloat32(n: number, shared = false): Float32Array {
  return new Float32Array(buffer(n * 4, shared));
}
export function allocFloat64(n: number, shared = false): Float64Array {
  return new Float64Array(buffer(n * 8, shared));
}
