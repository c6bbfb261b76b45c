import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MotionConfig } from "motion/react";
import { useState, type ReactNode } from "react";

import { Toaster } from "@/components/ui/sonner";
import { SupabaseSession } from "@/lib/supabase";
import { ThemeProvider } from "@/lib/theme";

function makeQueryClient() {
  return new QueryClient({
    defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } },
  });
}

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  return (
    <ThemeProvider>
      {/* Animations follow the system's "reduce motion" setting. */}
      <MotionConfig reducedMotion="user">
        <QueryClientProvider client={queryClient}>
          <SupabaseSession />
          {children}
          <Toaster position="top-right" />
        </QueryClientProvider>
      </MotionConfig>
    </ThemeProvider>
  );
}
