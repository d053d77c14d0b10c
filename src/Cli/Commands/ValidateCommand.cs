using System.CommandLine;
using System.Globalization;
using ModelForge.Core;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using ModelForge.Model;
using ModelForge.Optimize;
using ModelForge.Pipeline.Spec;
using ModelForge.Pipeline.Stages;
using ModelForge.Validate;
using ModelForge.Validate.Compare;
using ModelForge.Validate.Reports;
using ModelForge.Validate.Runtime;
using ModelForge.Model.Tensors;

namespace ModelForge.Cli.Commands;

/// <summary>
/// <c>modelforge validate MODEL.pt MODEL.onnx --input … [--batch 1,8] [--dim NAME=MIN/OPT/MAX] [--atol X --rtol Y] [--inputs data.npz] [--report DIR]</c>:
/// the accuracy gate. Exit 0 when every candidate matches the native reference, 1 when one does not, 2 for invalid
/// input or a requested execution provider that cannot run here.
/// </summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "The original TorchScript archive (the reference, run with libtorch)." };
        var onnx = new Argument<FileInfo>("onnx") { Description = "The converted ONNX model to check." };
        var inputs = CommonOptions.Inputs();
        var batches = new Option<string>("--batch")
        {
            HelpName = "N[,N...]",
            Description = "Batch sizes to check, comma-separated; the batch dim is dim 0 of the first input, when it is symbolic. " +
                          "[default: the MIN and OPT of the batch dim's --dim, else 1,8]",
        };
        var atol = new Option<double?>("--atol") { Description = "Absolute tolerance for float outputs. [default: 1e-4 for float32/64, 1e-2 float16, 5e-2 bfloat16]" };
        var rtol = new Option<double?>("--rtol") { Description = "Relative tolerance for float outputs. [default: 1e-3 for float32/64, 1e-2 float16, 5e-2 bfloat16]" };
        var perOutput = new Option<string[]>("--tolerance")
        {
            HelpName = "OUTPUT:ATOL:RTOL",
            Description = "Tolerance for one output as OUTPUT:ATOL:RTOL (wins over --atol/--rtol), e.g. --tolerance logits:1e-3:1e-2. Repeatable.",
        };
        var topK = new Option<int?>("--top-k") { Description = "Also require the top-K classes of every row of rank-2 float outputs to agree." };
        var precision = new Option<string?>("--precision")
        {
            HelpName = "fp16|int8|int8-dynamic",
            Description = "The ONNX model was written in this precision (modelforge optimize, convert --precision): judge float outputs by " +
                          "that precision's bars against the fp32 reference (cosine, SQNR, top-1/top-5 agreement; docs/precision.md) " +
                          "instead of --atol/--rtol. [default: fp32, the elementwise tolerance]",
        };
        precision.AcceptOnlyFromAmong([.. PrecisionNames.All]);
        var minCosine = new Option<double?>("--min-cosine") { Description = "With --precision: the least cosine similarity per output. [default: fp16 0.999, int8 0.99]" };
        var minSqnr = new Option<double?>("--min-sqnr") { HelpName = "DB", Description = "With --precision: the least SQNR per output, in dB. [default: fp16 30, int8 20]" };
        var minTop1 = new Option<double?>("--min-top1") { Description = "With --precision: the least share of rows of a classifier output whose top class agrees. [default: fp16 0.99, int8 0.9]" };
        var data = new Option<FileInfo?>("--inputs")
        {
            Description = "Use these inputs instead of generated ones: an .npz with one array per input name, or an .npy for a single-input model.",
        };
        var ranges = new Option<string[]>("--range")
        {
            HelpName = "NAME:LOW:HIGH",
            Description = "Value range of a generated input as NAME:LOW:HIGH (floats uniform in [LOW,HIGH); ints in [LOW,HIGH)). e.g. --range ids:0:30000",
        };
        var dims = CommonOptions.Dims("The batch dim runs at MIN and OPT (unless --batch), any other dim at OPT, e.g. --dim seq=128.");
        var seed = new Option<int>("--seed") { Description = "Seed for generated inputs.", DefaultValueFactory = _ => 0 };
        // One spelling with `engine --require` for "providers that must run"; --ep, the old spelling, stays as a hidden alias.
        var providers = new Option<string[]>("--require")
        {
            HelpName = "cpu|cuda|tensorrt",
            Description = "Execution providers that must run: cpu, cuda, tensorrt (repeatable). A provider named here that cannot run " +
                          "fails with exit 2. [default: cpu must run; cuda and tensorrt run where they are available here]",
        };
        var providersOldSpelling = new Option<string[]>("--ep") { Hidden = true };
        var engine = new Option<DirectoryInfo?>("--engine")
        {
            Description = "An engine folder from modelforge engine: its EP-context model also runs, on TensorRT, as the " +
                          "required candidate tensorrt-engine (unavailable, exit 2, where TensorRT cannot run).",
        };
        var report = new Option<DirectoryInfo?>("--report")
        {
            HelpName = "DIR",
            Description = "Write report.json, report.junit.xml and report.html into this folder, replaced as a whole by each run " +
                          "(refused when it holds files ModelForge did not write; see --force).",
        };
        var saveFailures = new Option<DirectoryInfo?>("--save-failures")
        {
            HelpName = "DIR",
            Description = "On a failed check, save the inputs and both sides' outputs as .npz files here, to reproduce it. The folder " +
                          "is replaced by each run, so it holds this run's failures only (none when the gate passed).",
        };
        var force = CommonOptions.Force("the --report and --save-failures folders");

        var command = new Command("validate", "Check that an ONNX model computes what the original TorchScript model computes (the accuracy gate).")
        {
            model, onnx, inputs, batches, atol, rtol, perOutput, topK, precision, minCosine, minSqnr, minTop1, data, ranges, dims, seed, providers, providersOldSpelling, engine, report, saveFailures, force,
        };
        HelpText.Add(command,
            "modelforge validate fixtures/models/resnet18_small/model.pt resnet18.onnx --input x:float32[batch,3,64,64]",
            "modelforge validate fixtures/models/resnet18_small/model.pt resnet18.onnx --input x:float32[batch,3,64,64] --batch 1,4 --atol 1e-3 --top-k 5 --report report/",
            "modelforge validate fixtures/models/resnet18_small/model.pt resnet18.onnx --input x:float32[batch,3,64,64] --range x:0:1 --save-failures failures/");
        command.SetAction(parse => CommandRunner.Run(parse.InvocationConfiguration.Error, () =>
        {
            var output = parse.InvocationConfiguration.Output;
            var specs = parse.GetRequiredValue(inputs).Select(InputSpec.Parse).ToList();
            var tolerances = ToleranceSettings.Default.WithGlobal(parse.GetValue(atol), parse.GetValue(rtol)) with
            {
                PerOutput = (parse.GetValue(perOutput) ?? []).Select(ParseOutputTolerance).ToDictionary(p => p.Output, p => p.Tolerance),
                TopK = parse.GetValue(topK),
                Precision = PrecisionGateOf(parse.GetValue(precision), parse.GetValue(minCosine), parse.GetValue(minSqnr), parse.GetValue(minTop1)),
            };
            var (required, optional) = ValidateStage.CandidatesFor((parse.GetValue(providers) ?? []).Concat(parse.GetValue(providersOldSpelling) ?? []).Select(ParseProvider).Distinct().ToList());
            var dataFile = parse.GetValue(data);
            var (rangeBatches, dimSizes) = ValidateStage.SizesFor(specs, DimRange.ParseAll(parse.GetValue(dims) ?? [], specs));
            var reportDirectory = parse.GetValue(report)?.FullName;
            // Both folders are checked before any work: a run that ends by finding it may not write its reports was wasted.
            if (reportDirectory is not null) OutputOwnership.EnsureReplaceable(reportDirectory, parse.GetValue(force), "the --report folder");
            using var failures = parse.GetValue(saveFailures) is { } failuresDirectory ? StagedOutput.Begin(failuresDirectory.FullName, parse.GetValue(force)) : null;
            var options = new ValidateOptions
            {
                Inputs = specs,
                Seed = parse.GetValue(seed),
                Ranges = (parse.GetValue(ranges) ?? []).Select(InputRange.Parse).ToDictionary(r => r.Name, r => r),
                DimValues = dimSizes,
                Data = dataFile is null ? null : LoadData(dataFile.FullName, specs),
                DataSource = dataFile?.FullName ?? "",
                Tolerances = tolerances,
                Required = required,
                Optional = optional,
                SaveFailuresDirectory = failures?.StagingDirectory,
                EngineDirectory = parse.GetValue(engine)?.FullName,
            };
            if ((parse.GetValue(batches) is { } batchList ? ParseBatches(batchList) : rangeBatches) is { } batchSizes)
                options = options with { BatchSizes = batchSizes };

            var (result, _, timings) = Validator.Run(parse.GetRequiredValue(model).FullName, parse.GetRequiredValue(onnx).FullName, options,
                parse.InvocationConfiguration.Error);
            var reportClock = System.Diagnostics.Stopwatch.StartNew();
            ConsoleReport.Write(result, output);
            failures?.Publish();
            if (reportDirectory is not null)
            {
                using var reports = StagedOutput.Begin(reportDirectory, parse.GetValue(force));
                var written = ReportWriter.WriteAll(result, reports.StagingDirectory).All;
                reports.Publish();
                foreach (var path in written) output.WriteLine($"wrote {Path.Combine(reportDirectory, Path.GetRelativePath(reports.StagingDirectory, path))}");
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"time: setup {timings.Setup.TotalSeconds:F3} s, reference inference {timings.ReferenceInference.TotalSeconds:F3} s, " +
                $"candidate inference {timings.CandidateInference.TotalSeconds:F3} s, comparison {timings.Comparison.TotalSeconds:F3} s, " +
                $"reports {reportClock.Elapsed.TotalSeconds:F3} s"));

            switch (AccuracyGate.Verdict(result))
            {
                case GateVerdict.Passed:
                    return ExitCodes.Success;
                case GateVerdict.Mismatch:
                    return ExitCodes.AccuracyGateFailed;
                default:
                    foreach (var unavailable in AccuracyGate.Unavailable(result, null, "drop it from --require, or run on a machine with that execution provider"))
                        parse.InvocationConfiguration.Error.WriteLine(unavailable.Format());
                    return ExitCodes.InvalidInput;
            }
        }));
        return command;
    }

    private static IReadOnlyList<int> ParseBatches(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var sizes = parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var b) && b > 0 ? b : -1).ToList();
        if (sizes.Count == 0 || sizes.Contains(-1))
            throw Usage($"--batch '{text}' is not a comma-separated list of positive ints", "e.g. --batch 1,8");
        return sizes.Distinct().ToList();
    }

    private static (string Output, Tolerance Tolerance) ParseOutputTolerance(string text)
    {
        var parts = text.Split(':');
        if (parts.Length == 3 && parts[0].Length > 0 &&
            double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var a) && a >= 0 &&
            double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && r >= 0)
            return (parts[0], new Tolerance(a, r));
        throw Usage($"--tolerance '{text}' is not OUTPUT:ATOL:RTOL", "e.g. --tolerance logits:1e-3:1e-2");
    }

    private static CandidateKind ParseProvider(string text) => text.ToLowerInvariant() switch
    {
        "cpu" => CandidateKind.Cpu,
        "cuda" => CandidateKind.Cuda,
        "tensorrt" or "trt" => CandidateKind.TensorRt,
        _ => throw Usage($"--require '{text}' is not an execution provider", "use cpu, cuda or tensorrt"),
    };

    private static IReadOnlyDictionary<string, HostTensor> LoadData(string path, IReadOnlyList<InputSpec> specs)
    {
        if (path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) return Npz.Read(path);
        if (specs.Count != 1)
            throw Usage($"an .npy file holds one array but the model has {specs.Count} inputs", "pass an .npz with one array per input name");
        return new Dictionary<string, HostTensor> { [specs[0].Name] = Npy.Read(path) };
    }

    private static ModelForgeException Usage(string message, string hint) =>
        new(DiagnosticCode.InputSpecInvalid, message, null, hint);

    /// <summary>
    /// <c>--precision</c> and its bars as the gate of a reduced-precision candidate (null for fp32); a bar given without a
    /// reduced precision is a usage error (MF8008), since the elementwise gate would ignore it.
    /// </summary>
    private static PrecisionGate? PrecisionGateOf(string? name, double? minCosine, double? minSqnr, double? minTop1)
    {
        PrecisionNames.TryParse(name ?? "fp32", out var precision);
        if (precision == Precision.Fp32)
        {
            if (minCosine is null && minSqnr is null && minTop1 is null) return null;
            throw new ModelForgeException(DiagnosticCode.OptimizeOptionInvalid, "--min-cosine, --min-sqnr and --min-top1 apply to a reduced-precision model only", null,
                "add --precision int8 (or fp16, int8-dynamic) to judge the model by these bars, or drop them");
        }
        var defaults = ValidationSpec.DefaultThresholds[precision];
        var bars = defaults with { MinCosine = minCosine ?? defaults.MinCosine, MinSqnrDb = minSqnr ?? defaults.MinSqnrDb, MinTop1 = minTop1 ?? defaults.MinTop1 };
        return new PrecisionGate(precision.Name(), bars.Validated());
    }
}
