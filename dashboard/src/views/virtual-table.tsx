// A table that renders only the rows in view (plus a few either side): 1,000 or 10,000 rows cost the same
// DOM as 30. Rows have one fixed height; the body scrolls, the header stays.
// biome-ignore-all lint/a11y/useSemanticElements: absolutely placed rows cannot be <tr>s; the ARIA table roles say what they are
// biome-ignore-all lint/a11y/useFocusableInteractive: the header cells are labels, not controls

import type { ComponentChild } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

export interface VirtualTableProps<T> {
  readonly rows: readonly T[];
  readonly columns: readonly { readonly title: string; readonly width: string }[];
  readonly rowKey: (row: T) => string;
  readonly cells: (row: T) => readonly ComponentChild[];
  readonly onOpen?: (row: T) => void;
  readonly label: string;
}

const rowHeight = 34;
const overscan = 8;

export function VirtualTable<T>(props: VirtualTableProps<T>) {
  const body = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  useLayoutEffect(() => {
    const el = body.current;
    if (el === null) return;
    setHeight(el.clientHeight);
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  // A shorter list than where we were scrolled to: back into range.
  useEffect(() => {
    const el = body.current;
    if (el !== null && scrollTop > props.rows.length * rowHeight) el.scrollTop = 0;
  }, [props.rows.length, scrollTop]);
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(props.rows.length, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  const grid = props.columns.map((c) => c.width).join(' ');
  const shown: ComponentChild[] = [];
  for (let i = first; i < last; i++) {
    const row = props.rows[i] as T;
    shown.push(
      <div
        class="vrow"
        role="row"
        aria-rowindex={i + 2}
        key={props.rowKey(row)}
        data-key={props.rowKey(row)}
        style={{ transform: `translateY(${i * rowHeight}px)`, gridTemplateColumns: grid }}
        onClick={() => props.onOpen?.(row)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') props.onOpen?.(row);
        }}
        tabIndex={0}
      >
        {props.cells(row).map((cell, j) => (
          <div class="vcell" role="cell" key={j}>
            {cell}
          </div>
        ))}
      </div>,
    );
  }
  return (
    <div class="vtable" role="table" aria-label={props.label} aria-rowcount={props.rows.length + 1}>
      <div class="vhead" role="row" tabIndex={-1} style={{ gridTemplateColumns: grid }}>
        {props.columns.map((c) => (
          <div class="vcell" role="columnheader" key={c.title}>
            {c.title}
          </div>
        ))}
      </div>
      <div class="vbody" ref={body} onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}>
        <div class="vspace" style={{ height: `${props.rows.length * rowHeight}px` }}>
          {shown}
        </div>
      </div>
    </div>
  );
}
