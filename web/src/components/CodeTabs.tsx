import { Check, Copy } from "lucide-react";
import { useState } from "react";

import { Button } from "@/components/ui/button";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { notify } from "@/lib/toast";

/** One sample in up to three languages; each language is a complete program. */
export interface Example {
  curl?: string;
  python?: string;
  javascript?: string;
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

/** A code block with its copy button beside it (never over the text); the block scrolls
sideways with the keyboard too. */
export function CodeBlock({ code, label }: { code: string; label: string }) {
  return (
    <div className="bg-muted grid grid-cols-[minmax(0,1fr)_auto] items-start rounded-lg">
      <pre
        tabIndex={0}
        aria-label={label}
        className="min-w-0 overflow-x-auto p-4 pr-2 text-sm"
        data-testid="code-sample"
      >
        <code>{code}</code>
      </pre>
      <div className="p-1">
        <CopyButton text={code} />
      </div>
    </div>
  );
}

export function CodeTabs({ example }: { example: Example }) {
  const languages = LANGUAGES.filter(([value]) => example[value] !== undefined);
  return (
    <Tabs defaultValue={languages[0]?.[0]}>
      <TabsList aria-label="Language">
        {languages.map(([value, label]) => (
          <TabsTrigger key={value} value={value}>
            {label}
          </TabsTrigger>
        ))}
      </TabsList>
      {languages.map(([value, label]) => (
        <TabsContent key={value} value={value}>
          <CodeBlock code={example[value] ?? ""} label={`${label} sample`} />
        </TabsContent>
      ))}
    </Tabs>
  );
}
