import { expect } from 'chai';
import { hasUserInfo, maskSecrets, redactText, redactUrl } from '../../src/util/redact.js';

describe('redact', () => {
  it('removes user info from http and zk URLs, keeping hosts and path', () => {
    expect(redactUrl('http://alice:s3cret@m1:5050/api')).to.equal('http://***@m1:5050/api');
    expect(redactUrl('zk://u:p@zk1:2181,zk2:2181/mesos')).to.equal('zk://***@zk1:2181,zk2:2181/mesos');
    expect(redactUrl('http://m1:5050')).to.equal('http://m1:5050');
    expect(redactUrl('//leader:pw@m2:5050/master/api/v1/scheduler')).to.equal('//***@m2:5050/master/api/v1/scheduler');
    expect(redactText('Location "//a:b@m3:5050" refused')).to.equal('Location "//***@m3:5050" refused');
    expect(redactUrl('//m2:5050/x@y')).to.equal('//m2:5050/x@y');
    expect(redactText('cannot reach https://bob:pw@10.0.0.1:5050, http://c:d@m2:5050')).to.equal(
      'cannot reach https://***@10.0.0.1:5050, http://***@m2:5050',
    );
  });
  it('masks auth headers and name=secret pairs in free text', () => {
    const t = redactText('Authorization: Bearer abcdef; token=xyz123 secret: hunter22');
    expect(t).to.not.match(/abcdef|xyz123|hunter22/);
    expect(t).to.contain('Authorization: Bearer ***');
  });
  it('tells URLs with user info apart and masks exact secret values', () => {
    expect(hasUserInfo('http://a:b@h:1')).to.equal(true);
    expect(hasUserInfo('http://h:1')).to.equal(false);
    expect(hasUserInfo('//u:p@h:1')).to.equal(true);
    expect(hasUserInfo('http://a:b@h:1')).to.equal(true);
    expect(maskSecrets('the token is tok-123456 and tok-123456', ['tok-123456', '', undefined, 'ab'])).to.equal('the token is *** and ***');
  });
});
