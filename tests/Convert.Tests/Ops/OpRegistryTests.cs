using System.Text;
using ModelForge.Convert;
using ModelForge.Convert.IR;
using ModelForge.Convert.Ops;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Tests.Ops;

/// <summary>A handler that exists only from opset 18, to check the "needs a newer opset" path.</summary>
[AtenOp("aten::relu")]
internal static class ReluFromOpset18
{
    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => c.Op("Relu", [a.Tensor(0)], a.Tensor(0).Type);
}

public sealed class OpRegistryTests
{
    [Fact]
    public void Dispatches_to_the_highest_opset_method_not_above_the_target()
    {
        var registry = OpRegistry.Default;
        Assert.NotNull(registry.Resolve("aten::hardswish", 13, out _));
        var opsets = registry.Describe().Single(d => d.Op == "aten::hardswish").Opsets;
        Assert.Equal([13, 14], opsets);
    }

    [Fact]
    public void An_op_known_only_from_a_later_opset_says_which_opset_would_work()
    {
        var registry = OpRegistry.FromAssembly(typeof(OpRegistryTests).Assembly);
        Assert.Null(registry.Resolve("aten::relu", 17, out var minimum));
        Assert.Equal(18, minimum);

        var model = RepoPaths.Fixture("ops", "relu", "model.pt");
        var spec = new InputSpec("x", DataType.Float32, [Dim.Named("batch"), 4, 5, 5]);
        var error = Assert.Throws<ModelForgeException>(() => ModelConverter.Convert(model, new ConvertOptions([spec], 17), registry));
        Assert.Equal(DiagnosticCode.OpsetTooLow, error.Code);
        Assert.Contains("needs opset ≥ 18", error.Message);
        Assert.Contains("raise --opset to 18", error.Diagnostics[0].Hint);
    }

    /// <summary>
    /// docs/op-support.md is generated from the registry. Set MODELFORGE_UPDATE_DOCS=1 to rewrite it after adding a handler.
    /// </summary>
    [Fact]
    public void Op_support_doc_matches_the_registry()
    {
        var expected = RenderOpSupport(OpRegistry.Default, FixturesByOp());
        var path = Path.Combine(RepoPaths.Root, "docs", "op-support.md");
        if (Environment.GetEnvironmentVariable("MODELFORGE_UPDATE_DOCS") == "1") File.WriteAllText(path, expected);
        Assert.True(File.Exists(path) && File.ReadAllText(path) == expected,
            "docs/op-support.md is out of date: run `MODELFORGE_UPDATE_DOCS=1 dotnet test tests/Convert.Tests --filter Op_support_doc` and commit it");
    }

    /// <summary>Every handler class is exercised by at least one per-op fixture (through one of its op names).</summary>
    [Fact]
    public void Every_handler_is_tested_by_an_op_fixture()
    {
        var fixtures = FixturesByOp();
        var untested = OpRegistry.Default.Describe()
            .GroupBy(d => d.Handler)
            .Where(handler => handler.All(d => !fixtures[d.Op].Any()))
            .Select(handler => $"{handler.Key.Name} ({string.Join(", ", handler.Select(d => d.Op))})")
            .ToList();
        Assert.True(untested.Count == 0, "handlers without a fixtures/ops case: " + string.Join("; ", untested));
    }

    /// <summary>
    /// Which fixtures/ops and fixtures/torchvision cases exercise each op, from the "ops" list in their spec.json (the
    /// torchvision cases named torchvision/&lt;case&gt;).
    /// </summary>
    private static ILookup<string, string> FixturesByOp() =>
        new[] { "ops", "torchvision" }.SelectMany(kind => Directory.GetDirectories(RepoPaths.Fixture(kind)).Select(d => (Kind: kind, Directory: d)))
            .OrderBy(d => d.Kind == "ops" ? 0 : 1).ThenBy(d => d.Directory, StringComparer.Ordinal)
            .Where(d => File.Exists(Path.Combine(d.Directory, "spec.json")))
            .SelectMany(d =>
            {
                using var spec = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(d.Directory, "spec.json")));
                var name = d.Kind == "ops" ? Path.GetFileName(d.Directory) : $"{d.Kind}/{Path.GetFileName(d.Directory)}";
                return spec.RootElement.GetProperty("ops").EnumerateArray().Select(op => (Op: op.GetString()!, Case: name)).ToList();
            })
            .ToLookup(p => p.Op, p => p.Case);

    private static string RenderOpSupport(OpRegistry registry, ILookup<string, string> fixtures)
    {
        var text = new StringBuilder();
        text.AppendLine("# Supported ops");
        text.AppendLine();
        text.AppendLine("Generated from the op registry (`src/Convert/Ops/Handlers`) by `OpRegistryTests.Op_support_doc_matches_the_registry`; do not edit by hand.");
        text.AppendLine($"Opsets {OpRegistry.MinOpset}–{OpRegistry.MaxOpset} are supported (default {OpRegistry.DefaultOpset}). \"Lowering from opset\" lists the");
        text.AppendLine("opsets at which the handler has its own method; a target opset uses the highest one not above it.");
        text.AppendLine("\"Tested by\" lists the `fixtures/ops/` cases that exercise the op; each is converted and compared with libtorch");
        text.AppendLine("at opsets 13, 17 and 20 (`tests/Ops.Tests/OpParityTests.cs`). An alias with no case shares its handler with a tested name.");
        text.AppendLine("libtorch lacks torchvision's operators (`torchvision::*`): their `torchvision/` cases (`fixtures/torchvision`) are compared");
        text.AppendLine("with the outputs torchvision computed, at opsets 13, 17, 19 and 20 (`tests/Ops.Tests/TorchvisionOpParityTests.cs`); where");
        text.AppendLine("their semantics differ from ONNX's ops, and what the lowering does then, is in \"torchvision's operators\" below.");
        text.AppendLine();
        text.AppendLine("| op | lowering from opset | handler | tested by |");
        text.AppendLine("|---|---|---|---|");
        foreach (var (op, opsets, handler) in registry.Describe())
        {
            var cases = fixtures[op].Distinct().ToList();
            text.AppendLine($"| `{op}` | {string.Join(", ", opsets)} | `{handler.Name}` | {(cases.Count == 0 ? "—" : string.Join(", ", cases))} |");
        }
        AppendTorchOnnxComparison(text, registry.Describe().Select(d => d.Op).ToHashSet(StringComparer.Ordinal));
        // Prose, not generated: kept in docs/data so the generated file can carry it.
        text.AppendLine();
        text.Append(File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "data", "torchvision-ops.md")));
        return text.ToString();
    }

    /// <summary>
    /// The comparison with torch.onnx.export 1.13: its registry's aten ops (docs/data/torch-onnx-1.13-ops.txt, listed by
    /// bench/torch-onnx-registry.py from Debian's python3-torch), each handled here, left out on purpose with the reason
    /// (docs/data/not-lowered.tsv), or not handled yet.
    /// </summary>
    private static void AppendTorchOnnxComparison(StringBuilder text, HashSet<string> handled)
    {
        static IEnumerable<string> DataLines(string file) => File.ReadLines(Path.Combine(RepoPaths.Root, "docs", "data", file))
            .Where(line => line.Length > 0 && !line.StartsWith('#'));
        // torch.onnx 1.13 registers the dunder ops under its symbolic functions' names, with one trailing underscore
        // (aten::__and_); the graph op, and this registry, say aten::__and__.
        var theirs = DataLines("torch-onnx-1.13-ops.txt").Select(op => op.StartsWith("aten::__", StringComparison.Ordinal) && op.EndsWith('_') && !op.EndsWith("__", StringComparison.Ordinal) ? op + "_" : op)
            .Distinct().Order(StringComparer.Ordinal).ToList();
        var reasons = DataLines("not-lowered.tsv").Select(line => line.Split('\t')).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
        // A reason for an op that has a handler now, or that torch.onnx does not name, would be a stale claim.
        Assert.DoesNotContain(reasons.Keys, op => handled.Contains(op) || !theirs.Contains(op));
        var ours = handled.Count(op => op.StartsWith("aten::", StringComparison.Ordinal));
        var both = theirs.Count(handled.Contains);
        var missing = theirs.Where(op => !handled.Contains(op)).ToList();
        var onPurpose = missing.Count(reasons.ContainsKey);

        text.AppendLine();
        text.AppendLine("## Compared with torch.onnx.export 1.13");
        text.AppendLine();
        text.AppendLine($"This registry handles {ours} aten op names; torch.onnx.export 1.13's symbolic registry (every opset, listed in");
        text.AppendLine("`docs/data/torch-onnx-1.13-ops.txt` by `bench/torch-onnx-registry.py` from Debian's python3-torch) names");
        text.AppendLine($"{theirs.Count}. {both} of those are handled here, {ours - both} names here are not in torch.onnx's registry, {onPurpose} are left out");
        text.AppendLine($"on purpose (the reason below, from `docs/data/not-lowered.tsv`), and {missing.Count - onPurpose} are not handled yet.");
        text.AppendLine();
        text.AppendLine("| torch.onnx 1.13 op without a handler here | why |");
        text.AppendLine("|---|---|");
        foreach (var op in missing)
            text.AppendLine($"| `{op}` | {(reasons.TryGetValue(op, out var reason) ? reason : "not handled yet")} |");
    }
}
