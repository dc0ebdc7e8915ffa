/** Paths of test fixtures, resolved from the compiled test location or the project root. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'protos'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

export function fixture(...parts: string[]): string {
  return path.join(projectRoot(), 'test', 'fixtures', ...parts);
}

export function readFixture(...parts: string[]): Buffer {
  return fs.readFileSync(fixture(...parts));
}
