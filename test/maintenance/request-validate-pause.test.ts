/** Field checks of the pause / resume / edit bodies (src/maintenance/core/request-validate.ts): hostile input gets clear, path-carrying errors. */
import { expect } from 'chai';
import { validateEditBody, validatePauseBody } from '../../src/maintenance/core/request-validate.js';
import { MaintenanceError } from '../../src/maintenance/core/errors.js';

function refused(fn: () => unknown): { message: string; paths: string[] } {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(MaintenanceError);
    const err = e as MaintenanceError;
    expect(err.outcome).to.equal('invalid');
    return { message: err.message, paths: err.problems.map((p) => p.path ?? '') };
  }
  throw new Error('accepted');
}

describe('maintenance request validation: pause, resume, edit', () => {
  it('pause / resume: exactly one of request_id, hosts, all: true', () => {
    expect(validatePauseBody({ request_id: 'mnt-1a2b3c4d', reason: ' incident ' }, 'pause')).to.deep.equal({ target: { request_id: 'mnt-1a2b3c4d' }, reason: 'incident' });
    expect(validatePauseBody({ hosts: 'h1,h2' }, 'pause')).to.deep.equal({ target: { hosts: ['h1', 'h2'] } });
    expect(validatePauseBody({ all: true }, 'pause', true)).to.deep.equal({ target: { all: true } });
    expect(refused(() => validatePauseBody({ request_id: 'mnt-1', hosts: ['h1'] }, 'pause')).paths).to.deep.equal(['hosts']);
    expect(refused(() => validatePauseBody({}, 'pause')).message).to.match(/exactly one of request_id, hosts or all/);
    expect(refused(() => validatePauseBody({ all: 'yes' }, 'pause')).paths).to.deep.equal(['all']);
    expect(refused(() => validatePauseBody({ request_id: '../../etc' }, 'pause')).paths).to.deep.equal(['request_id']);
    expect(refused(() => validatePauseBody({ request_id: { $ne: 1 } }, 'pause')).paths).to.deep.equal(['request_id']);
    expect(refused(() => validatePauseBody({ hosts: ['h1'] }, 'maintenance pause --all', true)).paths).to.include('all');
    expect(refused(() => validatePauseBody({ all: true, reason: 'a\u0000b' }, 'pause', true)).paths).to.deep.equal(['reason']);
    expect(refused(() => validatePauseBody({ all: true, resaon: 'x' }, 'pause', true)).message).to.match(/did you mean "reason"/);
    expect(refused(() => validatePauseBody([1], 'pause')).message).to.match(/JSON object/);
  });

  it('edit: request_id required; max_parallel a whole number or null; timeout a duration or null; something to change', () => {
    expect(validateEditBody({ request_id: 'mnt-1', max_parallel: 3, timeout: '2h' }, 'edit')).to.deep.equal({ request_id: 'mnt-1', max_parallel: 3, timeout_ms: 7_200_000 });
    expect(validateEditBody({ request_id: 'mnt-1', max_parallel: null, timeout: null, reason: 'x' }, 'edit')).to.deep.equal({ request_id: 'mnt-1', max_parallel: null, timeout_ms: null, reason: 'x' });
    expect(refused(() => validateEditBody({ max_parallel: 2 }, 'edit')).paths).to.deep.equal(['request_id']);
    expect(refused(() => validateEditBody({ request_id: 'mnt-1' }, 'edit')).message).to.match(/nothing to change/);
    expect(refused(() => validateEditBody({ request_id: 'mnt-1', max_parallel: 0 }, 'edit')).paths).to.deep.equal(['max_parallel']);
    expect(refused(() => validateEditBody({ request_id: 'mnt-1', max_parallel: 1.5, timeout: 'soon' }, 'edit')).paths).to.deep.equal(['max_parallel', 'timeout']);
    expect(refused(() => validateEditBody({ request_id: 'mnt-1', timeout: -5 }, 'edit')).paths).to.deep.equal(['timeout']);
  });
});
