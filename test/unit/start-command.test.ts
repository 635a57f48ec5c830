import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEAP_BYTES_PER_INFLIGHT_BYTE, inflightHeapOverrun } from '../../src/push/admission.js';
import { loadConfig } from '../../src/config.js';
import { ENTRY, nodeFlagsOf, startFlags } from '../support/start-command.js';

// The bridge is started in three documented ways (npm start, the Docker image, the systemd unit);
// they must give node the same flags, or the heap bound measured by the bench is not the one a
// hospital runs.

const REPO = path.resolve(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(path.join(REPO, file), 'utf8');
const MB = 1024 * 1024;

describe('the start command', () => {
  it('reads the flags of a node command line, and nothing else', () => {
    expect(nodeFlagsOf(`exec node --a --b=1 ${ENTRY}`)).toEqual(['--a', '--b=1']);
    expect(nodeFlagsOf(`/usr/bin/node ${ENTRY}`)).toEqual([]);
    expect(nodeFlagsOf(`tsx src/main.ts`)).toBeNull();
    expect(nodeFlagsOf(`node ${ENTRY} --port 1`)).toBeNull();
  });

  it('bounds the heap in npm start', () => {
    expect(startFlags()).toContainEqual(expect.stringMatching(/^--max-old-space-size=\d+$/));
  });

  it('gives the Docker image the flags of npm start', () => {
    const cmd = read('Dockerfile')
      .split('\n')
      .find((line) => line.startsWith('CMD '));
    expect(cmd).toBeDefined();
    expect(nodeFlagsOf((JSON.parse(cmd!.slice(4)) as string[]).join(' '))).toEqual(startFlags());
  });

  it("gives the README's systemd unit the flags of npm start", () => {
    const execStart = read('README.md')
      .split('\n')
      .find((line) => line.startsWith('ExecStart='));
    expect(execStart).toBeDefined();
    expect(nodeFlagsOf(execStart!.slice('ExecStart='.length))).toEqual(startFlags());
  });

  it("leaves the default PUSH_MAX_INFLIGHT_BYTES room in the start command's heap", () => {
    const heapMb = Number(/^--max-old-space-size=(\d+)$/.exec(startFlags().find((f) => f.startsWith('--max-old-space-size='))!)![1]);
    const { pushMaxInflightBytes } = loadConfig({});
    expect(inflightHeapOverrun(pushMaxInflightBytes, heapMb * MB)).toBeNull();
  });
});

describe('PUSH_MAX_INFLIGHT_BYTES against the heap', () => {
  it('fits while its peak is at most half of the heap', () => {
    const heap = 1024 * MB;
    const fits = heap / 2 / HEAP_BYTES_PER_INFLIGHT_BYTE;
    expect(inflightHeapOverrun(fits, heap)).toBeNull();
    expect(inflightHeapOverrun(fits + 1, heap)).toBe((fits + 1) * HEAP_BYTES_PER_INFLIGHT_BYTE);
  });
});
