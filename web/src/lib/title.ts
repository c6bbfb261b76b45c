import { useEffect } from "react";

const SITE = "GPT API";

/** Every route names itself in the tab, so history, bookmarks and screen readers can tell pages apart.
`undefined` leaves the title to a page nested inside (it sets its own). */
export function useTitle(title: string | null | undefined): void {
  useEffect(() => {
    if (title === undefined) return;
    document.title = title ? `${title} · ${SITE}` : `${SITE}: OpenAI-compatible inference`;
  }, [title]);
}
