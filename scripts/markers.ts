/** The part of a generated file between two markers: read by the tests that check it, rewritten by the docs generators. */
import * as fs from "fs";

/** The offsets of `begin` and `end` in `text`; throws naming `file` and the markers when either is missing or out of order. */
function markerOffsets(file: string, text: string, begin: string, end: string): { from: number; to: number } {
    const from = text.indexOf(begin);
    const to = text.indexOf(end);
    if (from < 0 || to < from) {
        throw new Error(`${file} lacks the markers ${begin} … ${end}`);
    }
    return { from, to };
}

/**
 * What stands between `begin` and `end` in `file`, trimmed.
 *
 * @throws an Error naming the file and the markers when either marker is missing or they are out of order.
 */
export function readBetweenMarkers(file: string, begin: string, end: string): string {
    const text = fs.readFileSync(file, "utf8");
    const { from, to } = markerOffsets(file, text, begin, end);
    return text.slice(from + begin.length, to).trim();
}

/**
 * Replaces what stands between `begin` and `end` in `file` with `content` (on lines of its own).
 *
 * @throws an Error naming the file and the markers when either marker is missing or they are out of order.
 */
export function writeBetweenMarkers(file: string, begin: string, end: string, content: string): void {
    const text = fs.readFileSync(file, "utf8");
    const { from, to } = markerOffsets(file, text, begin, end);
    fs.writeFileSync(file, `${text.slice(0, from + begin.length)}\n${content}\n${text.slice(to)}`);
}
