import { useMutation, useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router-dom";

import { client, unwrap } from "@/api/client";
import { Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";

/** The unsubscribe link of a notification mail: works signed out, turns one kind of mail off
after a click (opening the page changes nothing, so link scanners cannot unsubscribe anyone). */
export function Unsubscribe() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const query = { params: { query: { token } } };
  const info = useQuery({
    queryKey: ["unsubscribe", token],
    queryFn: () => unwrap(client.GET("/api/notifications/unsubscribe", query)),
    enabled: token !== "",
    retry: false,
  });
  const done = useMutation({ mutationFn: () => unwrap(client.POST("/api/notifications/unsubscribe", query)) });
  return (
    <div className="mx-auto grid max-w-lg gap-4 px-4 py-12">
      <Card>
        <CardHeader>
          <CardTitle>Unsubscribe</CardTitle>
          <CardDescription>Mail settings for your GPT API account.</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-3 text-sm">
          {!token || info.isError ? (
            <Failed message="This unsubscribe link is not valid." />
          ) : info.isPending ? (
            <Loading label="Loading" rows={1} />
          ) : done.isSuccess ? (
            <p role="status">
              Done: {info.data.email} no longer gets “{info.data.label}” mail. Change this any time in Settings.
            </p>
          ) : (
            <>
              <p>
                Stop “{info.data.label}” mail to {info.data.email}?
              </p>
              <div>
                <Button onClick={() => done.mutate()} disabled={done.isPending}>
                  Unsubscribe
                </Button>
              </div>
            </>
          )}
        </CardContent>
      </Card>
    </div>
  );
}
