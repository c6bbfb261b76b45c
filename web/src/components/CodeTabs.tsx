import { Check, Copy } from "lucide-react";
import { useState } from "react";

import { Button } from "@/components/ui/button";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { notify } from "@/lib/toast";

export interface Example {
  curl: string;
  python: string;
  javascript: string;
}

const LANGUAGES = [
  ["curl", "curl"],
  ["python", "Python"],
  ["javascript", "JavaScript"],
] as const;

export function CopyButton({ text, label = "Copy code" }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      notify.good("Copied to clipboard.");
      setTimeout(() => setCopied(false), 1500);
    } catch {
      notify.warn("Could not copy; select the text and copy it by hand.");
    }
  };
  return (
    <Button variant="ghost" size="icon" aria-label={label} onClick={copy}>
      {copied ? <Check /> : <Copy />}
    </Button>
  );
}

/** One example in curl, Python and JavaScript, each with a copy button. */
export function CodeTabs({ example }: { example: Example }) {
  return (
    <Tabs defaultValue="curl">
      <TabsList aria-label="Language">
        {LANGUAGES.map(([value, label]) => (
          <TabsTrigger key={value} value={value}>
            {label}
          </TabsTrigger>
        ))}
      </TabsList>
      {LANGUAGES.map(([value]) => (
        <TabsContent key={value} value={value} className="relative">
          <pre className="bg-muted overflow-x-auto rounded-lg p-4 pr-12 text-sm">
            <code>{example[value]}</code>
          </pre>
          <div className="absolute top-2 right-2">
            <CopyButton text={example[value]} />
          </div>
        </TabsContent>
      ))}
    </Tabs>
  );
}
