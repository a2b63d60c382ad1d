/** Rewrites the part of a generated file between two markers (the docs generators share it). */
import * as fs from "fs";

/**
 * Replaces what stands between `begin` and `end` in `file` with `content` (on lines of its own).
 *
 * @throws an Error naming the file and the markers when either marker is missing or they are out of order.
 */
export function writeBetweenMarkers(file: string, begin: string, end: string, content: string): void {
    const text = fs.readFileSync(file, "utf8");
    const from = text.indexOf(begin);
    const to = text.indexOf(end);
    if (from < 0 || to < from) {
        throw new Error(`${file} lacks the markers ${begin} … ${end}`);
    }
    fs.writeFileSync(file, `${text.slice(0, from + begin.length)}\n${content}\n${text.slice(to)}`);
}
