/**
 * Loads our Mesos v1 .proto files (protos/mesos/v1/**) with protobufjs, keeping snake_case field
 * names (Mesos's JSON mapping uses the proto field names verbatim) and 64-bit integers as Long.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import Long from 'long';

protobuf.util.Long = Long;
protobuf.configure();

export { protobuf };

const ENTRY_FILES = [
  'mesos/v1/mesos.proto',
  'mesos/v1/scheduler/scheduler.proto',
  'mesos/v1/maintenance/maintenance.proto',
  'mesos/v1/master/master.proto',
];

/** Finds the project's protos/ directory, walking up from this module (works from src/ and dist/src/). */
export function protoDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'protos');
    if (fs.existsSync(path.join(candidate, 'mesos', 'v1', 'mesos.proto'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('Cannot find protos/mesos/v1/mesos.proto above ' + fileURLToPath(import.meta.url));
}

let cachedRoot: protobuf.Root | undefined;

export function mesosRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const base = protoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string) => (path.isAbsolute(target) ? target : path.join(base, target));
  const files = ENTRY_FILES.filter((f) => fs.existsSync(path.join(base, f)));
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  cachedRoot = root;
  return root;
}

export function lookupType(fullName: string): protobuf.Type {
  return mesosRoot().lookupType(fullName);
}
