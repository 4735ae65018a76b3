// @vitest-environment jsdom
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import { FormDialog } from './FormDialog';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let host: HTMLDivElement;
let root: Root;
afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

function render(props: Partial<Parameters<typeof FormDialog>[0]> & { onSubmit: () => void; onClose: () => void }) {
  host = document.createElement('div');
  document.body.appendChild(host);
  root = createRoot(host);
  act(() =>
    root.render(
      <FormDialog title="New thing" label="Thing" pending={false} submitLabel="Create the thing" {...props}>
        <label>
          Name <input defaultValue="x" />
        </label>
      </FormDialog>,
    ),
  );
}

const button = (text: string) => [...document.querySelectorAll('button')].find((b) => b.textContent === text)!;

describe('FormDialog', () => {
  it('submits the labelled form without a page load, and cancels', () => {
    let submitted = 0;
    let closed = 0;
    render({ onSubmit: () => submitted++, onClose: () => closed++ });
    const form = document.querySelector('form[aria-label="Thing"]')!;
    expect(form.querySelector('input')).not.toBeNull();
    const ev = new Event('submit', { bubbles: true, cancelable: true });
    act(() => void form.dispatchEvent(ev));
    expect(submitted).toBe(1);
    expect(ev.defaultPrevented).toBe(true);
    act(() => button('Cancel').click());
    expect(closed).toBe(1);
  });

  it('shows the client-side problem as an alert and disables the submit button while saving', () => {
    render({ onSubmit: () => {}, onClose: () => {}, problem: 'Give it a name.', pending: true });
    expect(document.querySelector('[role="alert"]')!.textContent).toBe('Give it a name.');
    expect(button('Create the thing').disabled).toBe(true);
  });
});
