// ESLint flat config: typescript-eslint's recommended rules over the program, components, lib and tests.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "bin/", "charts/"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        rules: {
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
            eqeqeq: "error",
            "no-console": "off",
        },
    },
    {
        // Pulumi resources are registered for their side effect; `new X(...)` without using the result is normal.
        files: ["components/**/*.ts", "index.ts"],
        rules: { "no-new": "off" },
    },
);
