import { useQuery, useQueryClient } from "@tanstack/react-query";

import { client, reportError, unwrap } from "@/api/client";
import { Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { dateTime } from "@/lib/format";
import { notify } from "@/lib/toast";

const SESSIONS = ["sessions"] as const;

/** The browsers signed in to this account; any but this one can be signed out from here. */
export function Sessions() {
  const queryClient = useQueryClient();
  const sessions = useQuery({ queryKey: SESSIONS, queryFn: () => unwrap(client.GET("/api/auth/sessions")) });
  const signOut = async (id: string) => {
    try {
      await unwrap(client.DELETE("/api/auth/sessions/{session_id}", { params: { path: { session_id: id } } }));
      notify.good("That browser is signed out.");
      await queryClient.invalidateQueries({ queryKey: SESSIONS });
    } catch (error) {
      reportError(error);
    }
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>Signed-in browsers</CardTitle>
        <CardDescription>Sign out any you do not recognise, then change your password.</CardDescription>
      </CardHeader>
      <CardContent>
        {sessions.isPending ? (
          <Loading label="Loading sessions" rows={2} />
        ) : sessions.isError ? (
          <Failed message="Could not load your sessions." />
        ) : (
          <ul className="divide-y text-sm">
            {sessions.data.map((s) => (
              <li key={s.id} className="flex flex-wrap items-center justify-between gap-2 py-2">
                <span className="grid min-w-0 gap-0.5">
                  <span className="truncate">{s.user_agent || "Unknown browser"}</span>
                  <span className="text-muted-foreground text-xs">
                    {s.ip || "unknown address"} · last seen {dateTime(s.last_seen_at)}
                  </span>
                </span>
                {s.current ? (
                  <Badge variant="good">this browser</Badge>
                ) : (
                  <Button
                    variant="outline"
                    size="sm"
                    aria-label={`Sign out the browser at ${s.ip || "an unknown address"}`}
                    onClick={() => void signOut(s.id)}
                  >
                    Sign out
                  </Button>
                )}
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
