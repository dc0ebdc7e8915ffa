/** Control characters made inert for terminals and one-line logs, without changing what JSON means. */
import { expect } from 'chai';
import { CONTROL_CHARS, escapeControls, escapeControlsKeepLines, quoteText } from '../../src/util/text.js';
import { formatPretty } from '../../src/util/logger.js';

const HOSTILE = ['a\nb', '\x1b[2J\x1b]0;t\x07', '\u009b31m', '\u202egnp.exe', 'x\u2028y', 'del\x7f', 'cr\rlf', 'tab\t', 'ok-host.rack-1', '"quoted" \\ back'];

describe('util/text: control characters', () => {
  it('escapeControls leaves no control character and keeps plain text as it is', () => {
    for (const s of HOSTILE) expect(CONTROL_CHARS.test(escapeControls(s)), JSON.stringify(s)).to.equal(false);
    expect(escapeControls('ok-host.rack-1 "q"')).to.equal('ok-host.rack-1 "q"');
    expect(escapeControls('\x1b[2J')).to.equal('\\u001b[2J');
  });

  it('keeps newlines and tabs only when asked', () => {
    expect(escapeControlsKeepLines('a\n\tb\x1b')).to.equal('a\n\tb\\u001b');
  });

  it('inside JSON the escaped text means the same value', () => {
    for (const s of HOSTILE) expect(JSON.parse(escapeControls(JSON.stringify({ s }))).s).to.equal(s);
    for (const s of HOSTILE) expect(JSON.parse(quoteText(s))).to.equal(s);
  });

  it('the readable log line stays one inert line whatever the fields hold', () => {
    for (const s of HOSTILE) {
      const line = formatPretty({ level: 'info', message: s, event: s, host: s, [s]: s, obj: { s } }, { colour: false, now: new Date(0) });
      expect(CONTROL_CHARS.test(line), JSON.stringify(line)).to.equal(false);
    }
    expect(formatPretty({ level: 'info', event: 'e', host: 'agent-1' }, { colour: false, now: new Date(0) })).to.match(/ e host=agent-1$/);
  });
});
