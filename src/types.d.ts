// Files imported with `with { type: "text" }` or `{ type: "file" }` (embedded by bun build --compile).
declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "*.txt" {
  const text: string;
  export default text;
}
declare module "*.css";
