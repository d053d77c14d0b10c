using System.CommandLine;
using System.Globalization;
using ModelForge.Convert.Emit;
using ModelForge.Core;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Optimize;
using ModelForge.Optimize.Fp16;
using ModelForge.Optimize.Int8;

namespace ModelForge.Cli.Commands;

/// <summary>
/// <c>modelforge optimize MODEL.onnx --precision fp32|fp16|int8|int8-dynamic [--calibration DATA.npz | --calibration-samples N]
/// [--calibration-method minmax|percentile|entropy] [--keep-float OP] [-o OUT.onnx]</c>: rewrites an ONNX model to another precision
/// (<see cref="ModelOptimizer"/>). Exit 0 when written, 2 for invalid input (nothing written).
/// </summary>
internal static class OptimizeCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "The ONNX model to rewrite (as modelforge convert wrote it; external data is read from its folder)." };
        var precision = new Option<string>("--precision")
        {
            HelpName = string.Join("|", PrecisionNames.All),
            Description = "The precision to write: int8 (static: QuantizeLinear/DequantizeLinear pairs ONNX Runtime fuses into integer " +
                          "kernels, activation ranges calibrated on the fp32 model), int8-dynamic (int8 weights of MatMul/Gemm/LSTM, " +
                          "activations quantized at run time), fp16 (float16 weights and activations, float32 kept where range or " +
                          "accumulation needs it, float32 inputs and outputs), or fp32 (a copy).",
            DefaultValueFactory = _ => "fp32",
        };
        precision.AcceptOnlyFromAmong([.. PrecisionNames.All]);
        var calibration = new Option<FileInfo?>("--calibration")
        {
            HelpName = "DATA.npz",
            Description = "Calibration inputs: an .npz with one array per model input (dim 0: the samples), or an .npy for a " +
                          "one-input model. int8 measures activation ranges on them; fp16 checks that no activation exceeds float16's " +
                          "65504 on them. [default: int8: --calibration-samples generated inputs, with a warning; fp16: no check]",
        };
        var samples = new Option<int?>("--calibration-samples")
        {
            HelpName = "N",
            Description = $"How many inputs to generate for int8 calibration when there is no --calibration. [default: {Int8Options.DefaultSamples}]",
        };
        var method = new Option<string?>("--calibration-method")
        {
            HelpName = "minmax|percentile|entropy",
            Description = "How int8 activation ranges are chosen: minmax (extremes seen), percentile (clip at the 99.999th percentile " +
                          "of |x|), entropy (clip where the KL divergence of the 128-level histogram is least). [default: minmax]",
        };
        method.AcceptOnlyFromAmong("minmax", "percentile", "entropy");
        var ranges = new Option<string[]>("--range")
        {
            HelpName = "NAME:LOW:HIGH",
            Description = "Value range of a generated calibration input as NAME:LOW:HIGH, e.g. --range x:0:1 for images scaled to [0, 1]. " +
                          "[default: [-1, 1) for floats, [0, 10) for integers]",
        };
        var keepFloat = new Option<string[]>("--keep-float")
        {
            HelpName = "OP",
            Description = "With fp16: an ONNX op type that stays float32, on top of the built-in list (normalisations, softmax, " +
                          "reductions, Exp/Pow/Sqrt, index and size ops; docs/precision.md). Repeat it for more. [default: none]",
        };
        var dims = CommonOptions.Dims("Generated calibration inputs use each dim's OPT size (the batch dim follows the sample count).");
        var seed = new Option<int>("--seed") { Description = "Seed for generated calibration inputs.", DefaultValueFactory = _ => 0 };
        var output = new Option<FileInfo?>("--output", "-o")
        {
            Description = "Where to write the rewritten model. An existing file is overwritten only when ModelForge wrote it (see --force). " +
                          "[default: MODEL.PRECISION.onnx next to MODEL]",
        };
        var force = CommonOptions.Force("an existing -o file (and its .data side file)");
        var externalDataThreshold = CommonOptions.ExternalDataThreshold();

        var command = new Command("optimize", "Rewrite an ONNX model to another precision (int8 calibrated in ONNX Runtime, dynamic int8, fp16).")
        {
            model, precision, calibration, samples, method, ranges, keepFloat, dims, seed, output, force, externalDataThreshold,
        };
        HelpText.Add(command,
            "modelforge optimize resnet18.onnx --precision int8 --calibration calibration.npz -o resnet18.int8.onnx",
            "modelforge optimize encoder.onnx --precision int8-dynamic",
            "modelforge optimize resnet18.onnx --precision fp16 --calibration calibration.npz");
        command.SetAction(parse => CommandRunner.Run(parse.InvocationConfiguration.Error, () =>
        {
            var modelFile = parse.GetRequiredValue(model);
            PrecisionNames.TryParse(parse.GetRequiredValue(precision), out var target);
            var calibrationFile = parse.GetValue(calibration);
            var sampleCount = parse.GetValue(samples);
            var methodName = parse.GetValue(method);
            var extraFloatOps = parse.GetValue(keepFloat) ?? [];
            CheckOptions(target, calibrationFile, sampleCount, methodName, extraFloatOps);
            var outputPath = parse.GetValue(output)?.FullName ?? Path.ChangeExtension(modelFile.FullName, $".{target.Name()}.onnx");
            OnnxOutputFile.EnsureWritable(outputPath, parse.GetValue(force));

            var request = new OptimizeRequest(modelFile.FullName, outputPath, target)
            {
                Int8 = new Int8Options
                {
                    CalibrationData = calibrationFile?.FullName,
                    CalibrationSamples = sampleCount ?? Int8Options.DefaultSamples,
                    Method = methodName is null ? CalibrationMethod.MinMax : Enum.Parse<CalibrationMethod>(methodName, ignoreCase: true),
                    Seed = parse.GetValue(seed),
                    Ranges = InputRange.ParseAll(parse.GetValue(ranges) ?? []),
                },
                Fp16 = new Fp16Options { BlockList = [.. Fp16Options.DefaultBlockList.Union(extraFloatOps, StringComparer.Ordinal)] },
                Dims = parse.GetValue(dims) ?? [],
                ProducerName = OnnxEmitter.ProducerName,
            };
            if (parse.GetValue(externalDataThreshold) is { } threshold) request = request with { ExternalDataThreshold = threshold };
            var error = parse.InvocationConfiguration.Error;
            var summary = ModelOptimizer.Run(request, warning => error.WriteLine(warning.Format()));
            var stdout = parse.InvocationConfiguration.Output;
            var weights = summary.ExternalData ? $", weights in {Path.GetFileName(outputPath)}.data" : "";
            switch (summary)
            {
                case { Int8: { } int8 }:
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"optimized {modelFile.Name} → {outputPath} (int8: {int8.QuantizedNodes} nodes quantized, {int8.FloatNodes} left in float, " +
                        $"{int8.Activations} activation ranges from {int8.SampleSource} by {int8.Method.ToString().ToLowerInvariant()} in " +
                        $"{int8.CalibrationTime.TotalSeconds:F2} s{weights})"));
                    stdout.WriteLine(FormatLine(int8.Format, "per tensor", "per channel"));
                    break;
                case { Fp16: { } fp16 }:
                    stdout.WriteLine($"optimized {modelFile.Name} → {outputPath} (fp16: {fp16.Float32Nodes.Count} nodes kept in float32, " +
                                     $"{fp16.CastsInserted} Casts added{weights})");
                    break;
                case { DynamicInt8: { } dynamic }:
                    stdout.WriteLine($"optimized {modelFile.Name} → {outputPath} (int8-dynamic: {dynamic.QuantizedNodes.Count} nodes quantized, " +
                                     $"{dynamic.Float32Nodes.Count} left in float{weights})");
                    stdout.WriteLine(FormatLine(dynamic.Format, "at run time", request.DynamicInt8.PerChannel ? "per channel" : "per tensor"));
                    foreach (var (node, reason) in dynamic.Float32Nodes) stdout.WriteLine($"  kept float: {node}: {reason}");
                    break;
                default:
                    stdout.WriteLine($"optimized {modelFile.Name} → {outputPath} (fp32, unchanged{weights})");
                    break;
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>The integer format an int8 model was written in, and why (the CPU's VNNI decides <c>reduce_range</c>).</summary>
    private static string FormatLine(QuantizationFormat format, string activations, string weights) =>
        $"int8 format: {(format.Activations == ActivationType.UInt8 ? "uint8" : "int8")} activations ({activations}), " +
        $"int8 weights ({weights}, {(format.ReduceRange ? "reduce_range: 7-bit" : "full range")}): {format.Reason}";

    /// <summary>
    /// Options that do not fit the precision (MF8008): calibration data serves int8 and fp16, a generated sample count and
    /// a calibration method only int8, extra float ops only fp16; data excludes a generated sample count.
    /// </summary>
    private static void CheckOptions(Precision target, FileInfo? data, int? samples, string? method, IReadOnlyList<string> keepFloat)
    {
        var misfits = new List<string>();
        if (data is not null && target is not (Precision.Int8 or Precision.Fp16)) misfits.Add("--calibration");
        if (samples is not null && target != Precision.Int8) misfits.Add("--calibration-samples");
        if (method is not null && target != Precision.Int8) misfits.Add("--calibration-method");
        if (keepFloat.Count > 0 && target != Precision.Fp16) misfits.Add("--keep-float");
        if (misfits.Count > 0)
            throw new ModelForgeException(DiagnosticCode.OptimizeOptionInvalid,
                $"{string.Join(", ", misfits)} do not apply to --precision {target.Name()}", null,
                "calibration options belong to int8 (--calibration also to fp16's overflow check), --keep-float to fp16; drop the others");
        if (data is not null && samples is not null)
            throw new ModelForgeException(DiagnosticCode.OptimizeOptionInvalid,
                "--calibration and --calibration-samples exclude each other: the samples are the file's", null,
                "give --calibration DATA.npz for real data, or --calibration-samples N for generated inputs");
    }
}
