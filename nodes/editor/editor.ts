// What the editor scripts share: Node-RED's editor API, as the page provides it.
import type { EditorNodeInstance, EditorNodeProperties, EditorRED } from 'node-red';

/** The editor's global RED, present before any node's script runs. */
export const RED = (window as unknown as { RED: EditorRED }).RED;

/** A node being edited: its properties and its catalog lookup. */
export type Edited<T extends EditorNodeProperties> = EditorNodeInstance<T> & T;

/** Fills a <select> with choices whose labels come from the node's catalog. */
export function fillSelect(
  node: { _: (key: string) => string },
  select: JQuery,
  choices: { value: string; label: string }[],
): void {
  for (const choice of choices) $('<option>').val(choice.value).text(node._(choice.label)).appendTo(select);
}
