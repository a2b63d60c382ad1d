/**
 * Kubernetes resource quantities (`500m`, `256Mi`, `10Gi`, `1.5`, `2e3`), parsed without any resource.
 *
 * Grammar from the Kubernetes API reference, "Quantity"
 * (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/):
 *   <quantity> ::= <signedNumber><suffix>;  <suffix> ::= <binarySI> | <decimalExponent> | <decimalSI>
 *   <binarySI> ::= Ki | Mi | Gi | Ti | Pi | Ei;  <decimalSI> ::= m | "" | k | M | G | T | P | E
 * Negative quantities are valid in the API but meaningless for requests, limits and storage, so they are
 * rejected here.
 */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

const QUANTITY = /^(\+?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|m|k|M|G|T|P|E)?$/;

/**
 * Parses a Kubernetes quantity into its value in base units (cores for CPU, bytes for memory and storage).
 *
 * @param text a quantity such as `"500m"` (0.5), `"256Mi"` (268435456), `"10Gi"`, `"1e3"`.
 * @returns the value, or `undefined` when `text` is not a valid non-negative quantity (e.g. `"5Gb"`, `"1 Gi"`).
 */
export function parseQuantity(text: string): number | undefined {
    const m = QUANTITY.exec(text);
    if (!m) {
        return undefined;
    }
    const n = Number(m[1]);
    const suffix = m[2] ?? "";
    if (suffix in BINARY) {
        return n * BINARY[suffix];
    }
    if (/^[eE]/.test(suffix)) {
        return n * 10 ** Number(suffix.slice(1));
    }
    return n * DECIMAL[suffix];
}

/** What a quantity measures; decides which suffixes make sense. */
export type QuantityKind = "cpu" | "memory" | "storage";

/**
 * Checks a quantity for one use and says what is wrong in words a user can act on.
 *
 * Beyond the API grammar it rejects the classic mistakes the API accepts silently: `m` (milli) on memory or
 * storage (`256m` is 0.256 bytes, not 256 MiB) and zero.
 *
 * @returns `undefined` when fine, else an error message listing what is allowed.
 */
export function quantityProblem(text: string, kind: QuantityKind): string | undefined {
    const allowed =
        kind === "cpu"
            ? "a CPU quantity such as 250m (millicores), 0.5 or 2"
            : "a byte quantity with a binary suffix such as 256Mi, 1Gi or 10Gi (Ki/Mi/Gi/Ti/Pi/Ei), or a decimal one such as 500M or 1G";
    const value = parseQuantity(text);
    if (value === undefined) {
        return `is not a Kubernetes quantity; expected ${allowed}`;
    }
    if (kind !== "cpu" && /\dm$/.test(text)) {
        return `uses the milli suffix 'm' on ${kind} (that is thousandths of a byte); expected ${allowed}`;
    }
    if (value <= 0) {
        return `must be greater than zero; expected ${allowed}`;
    }
    return undefined;
}
