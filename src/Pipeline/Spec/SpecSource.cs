using ModelForge.Convert.Ops;
using ModelForge.Convert.Passes;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;

namespace ModelForge.Pipeline.Spec;

/// <summary>
/// What a build from a TorchScript file declares on the command line: what a spec says in <c>inputs</c> and its
/// <c>onnx</c> section. Null or false where not given (beside a spec, any of them given is refused).
/// </summary>
/// <param name="Inputs">One <c>NAME:DTYPE[DIMS]</c> per <c>forward()</c> parameter, in order.</param>
public sealed record TorchScriptOptions(IReadOnlyList<string> Inputs, int? Opset = null, OptimizeLevel? Optimize = null, bool ExternalData = false)
{
    public static readonly TorchScriptOptions None = new([]);

    /// <summary>One <c>NAME=MIN/OPT/MAX</c> per symbolic dim given a range (<c>--dim</c>): a spec's <c>dims</c>.</summary>
    public IReadOnlyList<string> Dims { get; init; } = [];

    /// <summary>The first conversion option given, as its command-line flag; null when none was.</summary>
    public string? FirstConversionFlag => Opset is not null ? "--opset" : Optimize is not null ? "--optimize" : ExternalData ? "--external-data" : null;
}

/// <summary>The model spec a build runs from: a <c>*.modelforge.json</c>, or a <c>.pt</c>/<c>.pth</c> with its inputs from the command line.</summary>
public static class SpecSource
{
    public static bool IsTorchScript(string path) =>
        path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The spec at <paramref name="path"/>, or the one a TorchScript file and <paramref name="options"/> make.
    /// <paramref name="output"/> overrides the output folder (null: the spec's, or out/NAME).
    /// </summary>
    public static ModelSpec Load(string path, TorchScriptOptions options, string? output = null)
    {
        path = Path.GetFullPath(path);
        if (IsTorchScript(path)) return FromTorchScript(path, options, output);
        if (options.Inputs.Count > 0)
            throw new ModelForgeException(DiagnosticCode.InputSpecInvalid, "--input is only for a .pt; a spec declares its inputs in \"inputs\"",
                new SourceLocation(path), "remove --input, or edit the spec");
        if (options.Dims.Count > 0)
            throw new ModelForgeException(DiagnosticCode.InputSpecInvalid, "--dim is only for a .pt; a spec gives dim ranges in its \"dims\" section",
                new SourceLocation(path), "remove --dim, or edit the spec's \"dims\"");
        if (options.FirstConversionFlag is { } flag)
            throw new ModelForgeException(DiagnosticCode.InputSpecInvalid, $"{flag} is only for a .pt; a spec sets it in its \"onnx\" section",
                new SourceLocation(path), $"remove {flag}, or edit the spec's \"onnx\" section (opset, optimize, externalData)");
        return SpecReader.Load(path, output);
    }

    /// <summary>
    /// A spec for a TorchScript file: named after the file, the declared inputs and dim ranges, the conversion options given (the
    /// defaults otherwise), no engines and no bundles, output in <paramref name="output"/> or out/NAME in the current folder.
    /// </summary>
    public static ModelSpec FromTorchScript(string modelPath, TorchScriptOptions options, string? output = null)
    {
        modelPath = Path.GetFullPath(modelPath);
        if (!File.Exists(modelPath))
            throw new ModelForgeException(DiagnosticCode.FileNotFound, $"model file '{modelPath}' does not exist", new SourceLocation(modelPath), "check the path");
        if (options.Inputs.Count == 0)
            throw new ModelForgeException(DiagnosticCode.InputSpecInvalid, "a build from a .pt needs its inputs: --input NAME:DTYPE[DIMS] per forward() parameter",
                new SourceLocation(modelPath), "e.g. --input x:float32[batch,3,224,224], or write a *.modelforge.json spec");
        var name = Path.GetFileNameWithoutExtension(modelPath);
        var inputs = options.Inputs.Select(InputSpec.Parse).ToList();
        return new ModelSpec
        {
            Name = name,
            SourcePath = modelPath,
            Inputs = inputs,
            Dims = DimRange.ParseAll(options.Dims, inputs),
            Opset = options.Opset ?? OpRegistry.DefaultOpset,
            Optimize = options.Optimize ?? OptimizeLevel.All,
            ExternalData = options.ExternalData,
            OutputDirectory = output is null ? Path.GetFullPath(Path.Combine("out", name)) : Path.GetFullPath(output),
        };
    }
}
