import type { ReactNode } from "react";
import { Link } from "wouter";
import { useView, withView } from "./view.ts";

/** A link to another page that keeps the range and the zone. */
export function ViewLink(props: { to: string; children: ReactNode; className?: string; testId?: string }) {
  const { view } = useView();
  return (
    <Link href={`${props.to}?${withView(view)}`} className={props.className} data-testid={props.testId}>
      {props.children}
    </Link>
  );
}
