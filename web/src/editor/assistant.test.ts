import { describe, expect, it } from 'vitest';
import { history } from './AssistantPanel';

describe('assistant chat', () => {
  it('sends the earlier turns as role and text, without empty ones', () => {
    expect(
      history([
        { role: 'user', text: 'add a filter' },
        { role: 'assistant', text: '' },
        { role: 'assistant', text: 'Here is a proposal.' },
      ]),
    ).toEqual([
      { role: 'user', text: 'add a filter' },
      { role: 'assistant', text: 'Here is a proposal.' },
    ]);
  });
});
