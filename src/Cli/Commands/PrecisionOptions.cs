using System.CommandLine;
using System.Globalization;
using ModelForge.Convert.Emit;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Optimize;
using ModelForge.Optimize.Fp16;
using ModelForge.Optimize.Int8;

namespace ModelForge.Cli.Commands;

/// <summary>
/// The options that choose a precision and its calibration, shared by <c>optimize</c> (an ONNX model) and
/// <c>convert --precision</c> (a TorchScript model converted, then rewritten): the same spellings, defaults and checks.
/// </summary>
internal sealed class PrecisionOptions
{
    public Option<string> Precision { get; }
    public Option<FileInfo?> Calibration { get; } = new("--calibration")
    {
        HelpName = "DATA.npz",
        Description = "Calibration inputs: an .npz with one array per model input (dim 0: the samples), or an .npy for a " +
                      "one-input model. int8 measures activation ranges on them; fp16 checks that no activation exceeds float16's " +
                      "65504 on them. [default: int8: --calibration-samples generated inputs, with a warning; fp16: no check]",
    };
    public Option<int?> Samples { get; } = new("--calibration-samples")
    {
        HelpName = "N",
        Description = $"How many inputs to generate for int8 calibration when there is no --calibration. [default: {Int8Options.DefaultSamples}]",
    };
    public Option<string?> Method { get; }
    public Option<string[]> Ranges { get; } = new("--range")
    {
        HelpName = "NAME:LOW:HIGH",
        Description = "Value range of a generated calibration input as NAME:LOW:HIGH, e.g. --range x:0:1 for images scaled to [0, 1]. " +
                      "[default: [-1, 1) for floats, [0, 10) for integers]",
    };
    public Option<string[]> KeepFloat { get; } = new("--keep-float")
    {
        HelpName = "OP",
        Description = "With fp16: an ONNX op type that stays float32, on top of the built-in list (normalisations, softmax, " +
                      "reductions, Exp/Pow/Sqrt, index and size ops; docs/precision.md). Repeat it for more. [default: none]",
    };
    public Option<string[]> Dims { get; } = CommonOptions.Dims("Generated calibration inputs use each dim's OPT size (the batch dim follows the sample count).");
    public Option<int> Seed { get; } = new("--seed") { Description = "Seed for generated calibration inputs.", DefaultValueFactory = _ => 0 };

    public PrecisionOptions(string precisionDescription)
    {
        Precision = new Option<string>("--precision")
        {
            HelpName = string.Join("|", PrecisionNames.All),
            Description = precisionDescription,
            DefaultValueFactory = _ => "fp32",
        };
        Precision.AcceptOnlyFromAmong([.. PrecisionNames.All]);
        Method = new Option<string?>("--calibration-method")
        {
            HelpName = "minmax|percentile|entropy",
            Description = "How int8 activation ranges are chosen: minmax (extremes seen), percentile (clip at the 99.999th percentile " +
                          "of |x|), entropy (clip where the KL divergence of the 128-level histogram is least). [default: minmax]",
        };
        Method.AcceptOnlyFromAmong("minmax", "percentile", "entropy");
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Precision, Calibration, Samples, Method, Ranges, KeepFloat, Dims, Seed })
            command.Options.Add(option);
    }

    public Precision TargetOf(ParseResult parse)
    {
        PrecisionNames.TryParse(parse.GetRequiredValue(Precision), out var target);
        return target;
    }

    /// <summary>The rewrite of <paramref name="modelPath"/> to <paramref name="outputPath"/> the options ask for, after checking they fit the precision (MF8008).</summary>
    public OptimizeRequest Request(ParseResult parse, string modelPath, string outputPath)
    {
        var target = TargetOf(parse);
        var calibrationFile = parse.GetValue(Calibration);
        var sampleCount = parse.GetValue(Samples);
        var methodName = parse.GetValue(Method);
        var extraFloatOps = parse.GetValue(KeepFloat) ?? [];
        CheckOptions(target, calibrationFile, sampleCount, methodName, extraFloatOps);
        return new OptimizeRequest(modelPath, outputPath, target)
        {
            Int8 = new Int8Options
            {
                CalibrationData = calibrationFile?.FullName,
                CalibrationSamples = sampleCount ?? Int8Options.DefaultSamples,
                Method = methodName is null ? CalibrationMethod.MinMax : Enum.Parse<CalibrationMethod>(methodName, ignoreCase: true),
                Seed = parse.GetValue(Seed),
                Ranges = InputRange.ParseAll(parse.GetValue(Ranges) ?? []),
            },
            Fp16 = new Fp16Options { BlockList = [.. Fp16Options.DefaultBlockList.Union(extraFloatOps, StringComparer.Ordinal)] },
            Dims = parse.GetValue(Dims) ?? [],
            ProducerName = OnnxEmitter.ProducerName,
        };
    }

    /// <summary>What the rewrite did, a line or more for standard output.</summary>
    public static void Describe(TextWriter stdout, string source, string outputPath, OptimizeRequest request, OptimizeSummary summary)
    {
        var weights = summary.ExternalData ? $", weights in {Path.GetFileName(outputPath)}.data" : "";
        switch (summary)
        {
            case { Int8: { } int8 }:
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"optimized {source} → {outputPath} (int8: {int8.QuantizedNodes} nodes quantized, {int8.FloatNodes} left in float, " +
                    $"{int8.Activations} activation ranges from {int8.SampleSource} by {int8.Method.ToString().ToLowerInvariant()} in " +
                    $"{int8.CalibrationTime.TotalSeconds:F2} s{weights})"));
                stdout.WriteLine(FormatLine(int8.Format, "per tensor", "per channel"));
                break;
            case { Fp16: { } fp16 }:
                stdout.WriteLine($"optimized {source} → {outputPath} (fp16: {fp16.Float32Nodes.Count} nodes kept in float32, " +
                                 $"{fp16.CastsInserted} Casts added{weights})");
                break;
            case { DynamicInt8: { } dynamic }:
                stdout.WriteLine($"optimized {source} → {outputPath} (int8-dynamic: {dynamic.QuantizedNodes.Count} nodes quantized, " +
                                 $"{dynamic.Float32Nodes.Count} left in float{weights})");
                stdout.WriteLine(FormatLine(dynamic.Format, "at run time", request.DynamicInt8.PerChannel ? "per channel" : "per tensor"));
                foreach (var (node, reason) in dynamic.Float32Nodes) stdout.WriteLine($"  kept float: {node}: {reason}");
                break;
            default:
                stdout.WriteLine($"optimized {source} → {outputPath} (fp32, unchanged{weights})");
                break;
        }
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
        if (data is not null && target is not (Optimize.Precision.Int8 or Optimize.Precision.Fp16)) misfits.Add("--calibration");
        if (samples is not null && target != Optimize.Precision.Int8) misfits.Add("--calibration-samples");
        if (method is not null && target != Optimize.Precision.Int8) misfits.Add("--calibration-method");
        if (keepFloat.Count > 0 && target != Optimize.Precision.Fp16) misfits.Add("--keep-float");
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
