using System.CommandLine;
using System.Globalization;
using ModelForge.Convert.Emit;
using ModelForge.Core;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Optimize;
using ModelForge.Optimize.Int8;

namespace ModelForge.Cli.Commands;

/// <summary>
/// <c>modelforge optimize MODEL.onnx --precision int8 [--calibration DATA.npz | --calibration-samples N]
/// [--calibration-method minmax|percentile|entropy] [-o OUT.onnx]</c>: rewrites an ONNX model to another precision
/// (<see cref="ModelOptimizer"/>). Exit 0 when written, 2 for invalid input (nothing written).
/// </summary>
internal static class OptimizeCommand
{
    /// <summary>The precisions this command writes; the others of <see cref="PrecisionNames.All"/> have rewrites of their own.</summary>
    private static readonly string[] Precisions = ["fp32", "int8"];

    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "The ONNX model to rewrite (as modelforge convert wrote it; external data is read from its folder)." };
        var precision = new Option<string>("--precision")
        {
            HelpName = string.Join("|", Precisions),
            Description = "The precision to write: int8 (static: QuantizeLinear/DequantizeLinear pairs ONNX Runtime fuses into integer " +
                          "kernels, activation ranges calibrated on the fp32 model) or fp32 (a copy).",
            DefaultValueFactory = _ => "fp32",
        };
        precision.AcceptOnlyFromAmong(Precisions);
        var calibration = new Option<FileInfo?>("--calibration")
        {
            HelpName = "DATA.npz",
            Description = "Calibration inputs for int8: an .npz with one array per model input (dim 0: the samples), or an .npy for a " +
                          "one-input model. [default: --calibration-samples generated inputs, with a warning]",
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
        var dims = CommonOptions.Dims("Generated calibration inputs use each dim's OPT size (the batch dim follows the sample count).");
        var seed = new Option<int>("--seed") { Description = "Seed for generated calibration inputs.", DefaultValueFactory = _ => 0 };
        var output = new Option<FileInfo?>("--output", "-o")
        {
            Description = "Where to write the rewritten model. An existing file is overwritten only when ModelForge wrote it (see --force). " +
                          "[default: MODEL.PRECISION.onnx next to MODEL]",
        };
        var force = CommonOptions.Force("an existing -o file (and its .data side file)");

        var command = new Command("optimize", "Rewrite an ONNX model to another precision (int8, calibrated in ONNX Runtime).")
        {
            model, precision, calibration, samples, method, ranges, dims, seed, output, force,
        };
        HelpText.Add(command,
            "modelforge optimize resnet18.onnx --precision int8 --calibration calibration.npz -o resnet18.int8.onnx",
            "modelforge optimize resnet18.onnx --precision int8 --calibration-samples 256 --range x:0:1 --calibration-method entropy");
        command.SetAction(parse => CommandRunner.Run(parse.InvocationConfiguration.Error, () =>
        {
            var modelFile = parse.GetRequiredValue(model);
            PrecisionNames.TryParse(parse.GetRequiredValue(precision), out var target);
            var calibrationFile = parse.GetValue(calibration);
            var sampleCount = parse.GetValue(samples);
            var methodName = parse.GetValue(method);
            CheckCalibrationOptions(target, calibrationFile, sampleCount, methodName);
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
                Dims = parse.GetValue(dims) ?? [],
                ProducerName = OnnxEmitter.ProducerName,
            };
            var error = parse.InvocationConfiguration.Error;
            var summary = ModelOptimizer.Run(request, warning => error.WriteLine(warning.Format()));
            var stdout = parse.InvocationConfiguration.Output;
            var weights = summary.ExternalData ? $", weights in {Path.GetFileName(outputPath)}.data" : "";
            if (summary.Int8 is not { } int8)
            {
                stdout.WriteLine($"optimized {modelFile.Name} → {outputPath} (fp32, unchanged{weights})");
                return ExitCodes.Success;
            }
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"optimized {modelFile.Name} → {outputPath} (int8: {int8.QuantizedNodes} nodes quantized, {int8.FloatNodes} left in float, " +
                $"{int8.Activations} activation ranges from {int8.SampleSource} by {int8.Method.ToString().ToLowerInvariant()} in " +
                $"{int8.CalibrationTime.TotalSeconds:F2} s{weights})"));
            stdout.WriteLine($"int8 format: {(int8.Format.Activations == ActivationType.UInt8 ? "uint8" : "int8")} activations (per tensor), " +
                             $"int8 weights (per channel, {(int8.Format.ReduceRange ? "reduce_range: 7-bit" : "full range")}): {int8.Format.Reason}");
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>Calibration options only mean something for int8, and data excludes a generated sample count (MF8008).</summary>
    private static void CheckCalibrationOptions(Precision target, FileInfo? data, int? samples, string? method)
    {
        var given = new[] { ("--calibration", data is not null), ("--calibration-samples", samples is not null), ("--calibration-method", method is not null) }
            .Where(o => o.Item2).Select(o => o.Item1).ToList();
        if (target != Precision.Int8 && given.Count > 0)
            throw new ModelForgeException(DiagnosticCode.OptimizeOptionInvalid,
                $"{string.Join(", ", given)} only apply to --precision int8, not {target.Name()}", null, "drop them, or pass --precision int8");
        if (data is not null && samples is not null)
            throw new ModelForgeException(DiagnosticCode.OptimizeOptionInvalid,
                "--calibration and --calibration-samples exclude each other: the samples are the file's", null,
                "give --calibration DATA.npz for real data, or --calibration-samples N for generated inputs");
    }
}
