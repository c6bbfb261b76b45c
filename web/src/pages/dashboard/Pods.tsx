import { ArrowLeft } from "lucide-react";
import { Link, useParams } from "react-router-dom";

import { Button } from "@/components/ui/button";

import { PodForm } from "./pods/PodForm";
import { PodList } from "./pods/PodList";

/** The pods tab: the list, or at /dashboard/pods/new the form that creates one. */
export function Pods() {
  const { item } = useParams();
  if (item !== "new") return <PodList />;
  return (
    <div className="grid gap-4">
      <div>
        <Button asChild variant="ghost" size="sm">
          <Link to="/dashboard/pods">
            <ArrowLeft aria-hidden /> All pods
          </Link>
        </Button>
      </div>
      <PodForm />
    </div>
  );
}
