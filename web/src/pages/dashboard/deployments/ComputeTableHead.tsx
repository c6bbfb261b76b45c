/** The columns the deployments and pods tables share. */
export function ComputeTableHead() {
  return (
    <thead className="text-muted-foreground text-left">
      <tr>
        <th className="py-2 pr-4 font-medium">Name</th>
        <th className="py-2 pr-4 font-medium">Status</th>
        <th className="py-2 pr-4 font-medium">GPU</th>
        <th className="py-2 pr-4 text-right font-medium">Cost/hr</th>
        <th className="py-2 pr-4 text-right font-medium">Cost so far</th>
        <th className="py-2 pr-4 font-medium">
          <span className="sr-only">Actions</span>
        </th>
      </tr>
    </thead>
  );
}
