// The names a lab defined in TypeScript gives its nodes, interfaces and stages, as types: `defineLab` infers them,
// so that `lab.node('srever')`, `toReplyVia('server:eth9')` and `applyStage('fxi')` do not compile. A lab loaded
// from a file (a path, a URL, loadLab) has plain strings. Kept cheap for the compiler: one pass over the nodes, the
// links and the stages, no recursion but trimming a link's spaces.

/** What a lab names: its nodes, its interfaces as `node:interface`, its stages. */
export interface LabNames {
  node: string;
  iface: string;
  stage: string;
}

/** The key of the brand a typed lab (and a probe's result of it) carries: in types only, no value is ever set. */
export const labNames: unique symbol = Symbol('nslab.labNames');
export interface Named<N extends LabNames> {
  readonly [labNames]?: N;
}

/** The names a value carries (a typed model, a Lab, a probe result), or plain strings. */
export type NamesOf<T> = T extends Named<infer N> ? (LabNames extends N ? LabNames : N) : LabNames;

type Trim<S extends string> = S extends ` ${infer R}` ? Trim<R> : S extends `${infer R} ` ? Trim<R> : S;
/** An endpoint as a reference: `node:iface`, or any interface of the node where the link leaves it to nslab. */
type Ref<E extends string> = E extends `${string}:${string}` ? E : `${E}:${string}`;
type LinkRefs<L> = L extends string
  ? Trim<L> extends `${infer A} ${infer B}`
    ? Ref<A> | Ref<Trim<B>>
    : never
  : L extends { endpoints: readonly [infer A extends string, infer B extends string] }
    ? Ref<A> | Ref<B>
    : never;
type Ifaces<Nodes> = {
  [K in keyof Nodes & string]: Nodes[K] extends { interfaces?: infer I } ? `${K}:${keyof I & string}` : never;
}[keyof Nodes & string];
type Items<A> = A extends readonly (infer X)[] ? X : never;
/** The interfaces a stage's `apply` gives nodes (one stage at a time: a union distributes). */
type StageIfaces<S> = S extends { apply: infer A } ? Ifaces<A> : never;
type StageNames<S> = S extends { name: infer N extends string } ? N : never;

/** The names of a lab definition, as inferred by `defineLab` (a definition typed as a whole gives plain strings). */
export type DefinedNames<D> = D extends { nodes: infer Nodes; links?: infer Links; stages?: infer Stages }
  ? string extends keyof Nodes
    ? LabNames
    : {
        node: keyof Nodes & string;
        iface:
          | {
              [K in keyof Nodes & string]: Nodes[K] extends { interfaces?: infer I }
                ? `${K}:${keyof I & string}`
                : never;
            }[keyof Nodes & string]
          | LinkRefs<Items<Links>>
          | StageIfaces<Items<Stages>>;
        stage: StageNames<Items<Stages>>;
      }
  : LabNames;
