import { hasScope } from '../../src/auth/verify';

describe('hasScope', () => {
  it.each([
    // [scopes on the row, scope the route needs, granted]
    [[], 'read', true],
    [[], 'orders:write', true],
    [[], 'sheetgate:admin', false],
    [[], 'sheetgate:anything', false],
    [['read'], 'read', true],
    [['read'], 'write', false],
    [['read'], 'sheetgate:admin', false],
    [['sheetgate:admin'], 'sheetgate:admin', true],
    [['sheetgate:admin'], 'read', false],
    [['read', 'sheetgate:admin'], 'sheetgate:admin', true],
    [['Sheetgate:Admin'], 'sheetgate:admin', false],
  ])('scopes %j, route needs %s → %s', (scopes, scope, granted) => {
    expect(hasScope({ scopes }, scope)).toBe(granted);
  });
});
