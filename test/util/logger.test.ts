/** The log format: JSON for machines, one readable line for a person at a terminal. */
import { expect } from 'chai';
import { defaultLogFormat, formatPretty } from '../../src/util/logger.js';

describe('logger: format for people and machines', () => {
  it('defaults to pretty only when stderr is a terminal', () => {
    expect(defaultLogFormat(true)).to.equal('pretty');
    expect(defaultLogFormat(false)).to.equal('json');
  });

  const now = new Date(2026, 4, 1, 3, 7, 9); // local time 03:07:09
  it('writes HH:MM:SS level event key=value, quoting only what needs it', () => {
    const line = formatPretty(
      {
        level: 'info',
        message: 'host_transition',
        event: 'host_transition',
        host: 'agent-3.rack-1',
        state_from: 'UP',
        state_to: 'DRAINING',
        reason: 'maintenance start by operator',
        tasks_left: 4,
        dry_run: false,
        window: { start: 1, seconds: 3600 },
        component: 'maintenance',
        absent: undefined,
      },
      { colour: false, now },
    );
    expect(line).to.equal(
      '03:07:09 info  host_transition host=agent-3.rack-1 state_from=UP state_to=DRAINING ' +
        'reason="maintenance start by operator" tasks_left=4 dry_run=false window={"start":1,"seconds":3600} component=maintenance',
    );
  });

  it('keeps a message that says more than the event, and colours the level only when asked', () => {
    const info = { level: 'warn', message: 'store wal.log: torn record at offset 48', event: 'store_torn_tail', offset: 48, file: '' };
    expect(formatPretty(info, { colour: false, now })).to.equal(
      '03:07:09 warn  store_torn_tail store wal.log: torn record at offset 48 offset=48 file=""',
    );
    expect(formatPretty(info, { colour: true, now })).to.match(/^03:07:09 \x1b\[33mwarn \x1b\[0m store_torn_tail /);
    expect(formatPretty({ level: 'error', message: 'plain words' }, { colour: false, now })).to.equal('03:07:09 error plain words');
  });
});
