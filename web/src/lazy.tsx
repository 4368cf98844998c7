/** Code-split pages: the chunk loads on first visit, with a loading and an error state. */
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ErrorBox, Loading } from "./ui.tsx";

export function lazy<P extends object>(load: () => Promise<ComponentType<P>>) {
  let cached: ComponentType<P> | null = null;
  let pending: Promise<ComponentType<P>> | null = null;
  return function Lazy(props: P) {
    const [C, setC] = useState<ComponentType<P> | null>(() => cached);
    const [err, setErr] = useState<unknown>(null);
    const [n, setN] = useState(0);
    useEffect(() => {
      if (cached) return;
      pending ??= load();
      pending.then(
        (c) => {
          cached = c;
          setC(() => c);
        },
        (e) => {
          pending = null;
          setErr(new Error("Could not load this part of the app (" + ((e as Error)?.message ?? "network error") + ")."));
        },
      );
    }, [n]);
    if (C) return <C {...props} />;
    if (err) return <ErrorBox error={err} onRetry={() => (setErr(null), setN(n + 1))} />;
    return <Loading />;
  };
}
