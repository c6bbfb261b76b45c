import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { useLocation } from "react-router-dom";

import type { Deployment } from "@/api/compute";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";

import { useOrgId } from "../useOrg";

const TAIL = 200;
// Lines kept on the page: a long-running follow must not grow without bound.
const KEPT_LINES = 2_000;
// Within this many pixels of the bottom counts as "at the bottom": new lines keep it there.
const STICK_PX = 24;

type StreamStatus = "connecting" | "live" | "reconnecting" | "ended" | "failed";

/** Follows the deployment's log over Server-Sent Events: the tail, then each
new line. The server ends the stream (`end`, with the state) once nothing runs; the browser
reconnects by itself after a dropped connection. Closed when the caller unmounts. */
export function useLogStream(url: string): { lines: string[]; status: StreamStatus; endState: string | null } {
  const [lines, setLines] = useState<string[]>([]);
  const [status, setStatus] = useState<StreamStatus>("connecting");
  const [endState, setEndState] = useState<string | null>(null);
  useEffect(() => {
    const source = new EventSource(url);
    source.onopen = () => {
      // A reconnect replays the tail; start over rather than show it twice.
      setLines([]);
      setStatus("live");
    };
    source.onmessage = (message: MessageEvent<string>) => {
      const line = JSON.parse(message.data) as string;
      setLines((previous) => [...previous, line].slice(-KEPT_LINES));
    };
    source.addEventListener("end", (message: MessageEvent<string>) => {
      source.close();
      setEndState((JSON.parse(message.data) as { state: string }).state);
      setStatus("ended");
    });
    source.onerror = () => {
      // Closed on an error is a refusal (signed out, no access, gone): no retry would help.
      setStatus(source.readyState === EventSource.CLOSED ? "failed" : "reconnecting");
    };
    return () => source.close();
  }, [url]);
  return { lines, status, endState };
}

const STATUS_TEXT: Record<StreamStatus, string> = {
  connecting: "Connecting…",
  live: "Live: new lines appear as they are written.",
  reconnecting: "Connection lost; reconnecting…",
  ended: "Stream ended",
  failed: "Could not follow the log; reload the page to try again.",
};

function LogView({ deployment }: { deployment: Deployment }) {
  const orgId = useOrgId();
  const { lines, status, endState } = useLogStream(
    `/api/orgs/${orgId}/deployments/${deployment.id}/logs/stream?tail=${TAIL}`,
  );
  const view = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  useLayoutEffect(() => {
    const element = view.current;
    if (element && stick.current) element.scrollTop = element.scrollHeight;
  }, [lines]);
  const onScroll = () => {
    const element = view.current;
    if (element) stick.current = element.scrollHeight - element.scrollTop - element.clientHeight < STICK_PX;
  };
  return (
    <div className="grid gap-2">
      <p className="text-muted-foreground text-sm" role="status" data-testid="deployment-logs-status">
        {STATUS_TEXT[status]}
        {status === "ended" && endState && ` (the deployment is ${endState}).`}
      </p>
      {lines.length === 0 ? (
        <p className="text-muted-foreground text-sm">Nothing logged yet.</p>
      ) : (
        <pre
          ref={view}
          onScroll={onScroll}
          tabIndex={0}
          aria-label="Server log"
          className="bg-muted max-h-80 overflow-auto rounded-lg p-4 text-xs"
          data-testid="deployment-logs"
        >
          {lines.join("\n")}
        </pre>
      )}
    </div>
  );
}

/** The deployment's log, followed live while the panel is open. */
export function LiveLogs({ deployment }: { deployment: Deployment }) {
  const { hash } = useLocation();
  const [shown, setShown] = useState(hash === "#logs");
  return (
    <Card id="logs" className="scroll-mt-20">
      <CardHeader className="flex flex-wrap items-center justify-between gap-2">
        <CardTitle>Logs</CardTitle>
        <Button variant="outline" size="sm" aria-expanded={shown} onClick={() => setShown(!shown)}>
          {shown ? "Hide logs" : "View logs"}
        </Button>
      </CardHeader>
      {shown && (
        <CardContent>
          {/* Each start (a new ready_at) is followed afresh: the previous stream ended with it. */}
          <LogView key={deployment.ready_at ?? "never"} deployment={deployment} />
        </CardContent>
      )}
    </Card>
  );
}
