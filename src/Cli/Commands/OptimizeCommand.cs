using System.CommandLine;
using System.Globalization;
using ModelForge.Convert.Emit;
using ModelForge.Core;
using ModelForge.Core.Diagnostics;
using ModelForge.Optimize;
using ModelForge.Optimize.Int8;
using ModelForge.Validate.Compare;

namespace ModelForge.Cli.Commands;

/// <summary>
/// <c>modelforge optimize MODEL.onnx --precision fp32|fp16|int8|int8-dynamic [--calibration DATA.npz | --calibration-samples N]
/// [--calibration-method minmax|percentile|entropy] [--keep-float OP] [--sensitivity [--max-float-nodes N] [--sensitivity-seconds S]]
/// [-o OUT.onnx]</c>: rewrites an ONNX model to another precision (<see cref="ModelOptimizer"/>). Exit 0 when written, 1 when
/// the sensitivity pass could not bring int8 within its thresholds (MF8040), 2 for invalid input (nothing written on 1 or 2).
/// </summary>
internal static class OptimizeCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "The ONNX model to rewrite (as modelforge convert wrote it; external data is read from its folder)." };
        var precision = new PrecisionOptions(
            "The precision to write: int8 (static: QuantizeLinear/DequantizeLinear pairs ONNX Runtime fuses into integer " +
            "kernels, activation ranges calibrated on the fp32 model), int8-dynamic (int8 weights of MatMul/Gemm/LSTM, " +
            "activations quantized at run time), fp16 (float16 weights and activations, float32 kept where range or " +
            "accumulation needs it, float32 inputs and outputs), or fp32 (a copy).");
        var output = new Option<FileInfo?>("--output", "-o")
        {
            Description = "Where to write the rewritten model. An existing file is overwritten only when ModelForge wrote it (see --force). " +
                          "[default: MODEL.PRECISION.onnx next to MODEL]",
        };
        var force = CommonOptions.Force("an existing -o file (and its .data side file)");
        var externalDataThreshold = CommonOptions.ExternalDataThreshold();
        var sensitivity = new Option<bool>("--sensitivity")
        {
            Description = "With int8: compare the int8 model's outputs with the fp32 model's on the calibration samples, and when they miss " +
                          "the int8 thresholds (cosine 0.99, SQNR 20 dB, top-1 0.90, top-5 0.98) keep the most sensitive nodes float until " +
                          "they pass (docs/precision.md). Fails with MF8040, exit 1, when the budget runs out first.",
        };
        var maxFloatNodes = new Option<int?>("--max-float-nodes")
        {
            HelpName = "N",
            Description = "With --sensitivity: the most nodes it may keep float. [default: no limit]",
        };
        var sensitivitySeconds = new Option<double?>("--sensitivity-seconds")
        {
            HelpName = "S",
            Description = "With --sensitivity: how long it may measure (each trial builds and runs one int8 variant). [default: no limit]",
        };
        var minCosine = new Option<double?>("--min-cosine")
        {
            HelpName = "C",
            Description = $"With --sensitivity: the least cosine similarity every output must reach. [default: {QuantizationThresholds.Int8.MinCosine}]",
        };
        var minSqnr = new Option<double?>("--min-sqnr")
        {
            HelpName = "DB",
            Description = $"With --sensitivity: the least SQNR (dB) every output must reach. [default: {QuantizationThresholds.Int8.MinSqnrDb}]",
        };

        var command = new Command("optimize", "Rewrite an ONNX model to another precision (int8 calibrated in ONNX Runtime, dynamic int8, fp16).") { model };
        precision.AddTo(command);
        foreach (var option in new Option[] { sensitivity, maxFloatNodes, sensitivitySeconds, minCosine, minSqnr, output })
            command.Options.Add(option);
        command.Options.Add(force);
        command.Options.Add(externalDataThreshold);
        HelpText.Add(command,
            "modelforge optimize resnet18.onnx --precision int8 --calibration calibration.npz --sensitivity --max-float-nodes 4 -o resnet18.int8.onnx",
            "modelforge optimize encoder.onnx --precision int8-dynamic",
            "modelforge optimize resnet18.onnx --precision fp16 --calibration calibration.npz");
        command.SetAction(parse => CommandRunner.Run(parse.InvocationConfiguration.Error, () =>
        {
            var modelFile = parse.GetRequiredValue(model);
            var outputPath = parse.GetValue(output)?.FullName ?? Path.ChangeExtension(modelFile.FullName, $".{precision.TargetOf(parse).Name()}.onnx");
            var request = precision.Request(parse, modelFile.FullName, outputPath);
            var budget = new SensitivityBudget(parse.GetValue(maxFloatNodes), parse.GetValue(sensitivitySeconds) is { } seconds ? TimeSpan.FromSeconds(seconds) : null);
            var sensitivityWanted = parse.GetValue(sensitivity);
            var cosineBar = parse.GetValue(minCosine);
            var sqnrBar = parse.GetValue(minSqnr);
            CheckSensitivityOptions(request.Precision, sensitivityWanted, budget, cosineBar is not null || sqnrBar is not null);
            var thresholds = (QuantizationThresholds.Int8 with
            {
                MinCosine = cosineBar ?? QuantizationThresholds.Int8.MinCosine,
                MinSqnrDb = sqnrBar ?? QuantizationThresholds.Int8.MinSqnrDb,
            }).Validated();
            if (sensitivityWanted) request = request with { Sensitivity = new SensitivityOptions(thresholds, budget) };
            if (parse.GetValue(externalDataThreshold) is { } threshold) request = request with { ExternalDataThreshold = threshold };
            OnnxOutputFile.EnsureWritable(outputPath, parse.GetValue(force));
            var error = parse.InvocationConfiguration.Error;
            var stdout = parse.InvocationConfiguration.Output;
            var summary = ModelOptimizer.Run(request, warning => error.WriteLine(warning.Format()));
            if (summary.Sensitivity is { } pass)
            {
                PrintSensitivity(stdout, pass);
                if (pass.Failure is { } failure)
                {
                    error.WriteLine(failure.Format());
                    return ExitCodes.AccuracyGateFailed;
                }
            }
            PrecisionOptions.Describe(stdout, modelFile.Name, outputPath, request, summary);
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>What the sensitivity pass measured and which nodes it kept float, with the accuracy before and after each.</summary>
    private static void PrintSensitivity(TextWriter stdout, SensitivityResult pass)
    {
        stdout.WriteLine($"sensitivity: full int8 against fp32: {pass.FullInt8.Worst}{(pass.FullInt8.Passes ? " (passes)" : "")}");
        foreach (var node in pass.KeptFloat) stdout.WriteLine($"  kept float: {node}");
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sensitivity: {pass.KeptFloat.Count} node(s) kept float, {pass.Trials} int8 variants measured in {pass.Elapsed.TotalSeconds:F2} s; " +
            $"{(pass.Passed ? "passes" : "fails")}: {pass.Final.Worst}"));
    }

    /// <summary>
    /// The sensitivity options need int8 and <c>--sensitivity</c>, and budgets of 0 or more (MF8008); thresholds out of
    /// range are MF8026 (<see cref="QuantizationThresholds.Validated"/>).
    /// </summary>
    private static void CheckSensitivityOptions(Precision target, bool wanted, SensitivityBudget budget, bool thresholdsGiven)
    {
        var given = new List<string>();
        if (wanted) given.Add("--sensitivity");
        if (budget.MaxFloatNodes is not null) given.Add("--max-float-nodes");
        if (budget.MaxTime is not null) given.Add("--sensitivity-seconds");
        if (thresholdsGiven) given.Add("--min-cosine/--min-sqnr");
        if (given.Count > 0 && target != Precision.Int8)
            throw new ModelForgeException(DiagnosticCode.OptimizeOptionInvalid, $"{string.Join(", ", given)} do not apply to --precision {target.Name()}", null,
                "the sensitivity pass keeps static int8 nodes float: use it with --precision int8");
        if (!wanted && given.Count > 0)
            throw new ModelForgeException(DiagnosticCode.OptimizeOptionInvalid, $"{string.Join(", ", given)} need --sensitivity", null,
                "add --sensitivity, or drop the budget options");
        if (budget.MaxFloatNodes < 0 || budget.MaxTime < TimeSpan.Zero)
            throw new ModelForgeException(DiagnosticCode.OptimizeOptionInvalid, "--max-float-nodes and --sensitivity-seconds cannot be below 0", null,
                "give 0 or more (0 float nodes: measure and name the offenders, keep none)");
    }
}
