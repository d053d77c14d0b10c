using System.CommandLine;
using System.Diagnostics;
using ModelForge.Convert;
using ModelForge.Convert.Ops;
using ModelForge.Convert.Passes;
using ModelForge.Core;

namespace ModelForge.Cli.Commands;

/// <summary><c>modelforge convert MODEL.pt --input NAME:DTYPE[DIMS] … [--opset N] [-o OUT.onnx] [--optimize none|basic|all] [--external-data]</c>.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model")
        {
            Description = "TorchScript archive to convert (saved with torch.jit.save after torch.jit.trace or torch.jit.script).",
        };
        var inputs = CommonOptions.Inputs();
        var opset = new Option<int>("--opset")
        {
            Description = $"Target ONNX opset ({OpRegistry.MinOpset}–{OpRegistry.MaxOpset}).",
            DefaultValueFactory = _ => OpRegistry.DefaultOpset,
        };
        var output = new Option<FileInfo?>("--output", "-o")
        {
            Description = "Where to write the ONNX model. Default: MODEL with the extension .onnx, next to it.",
        };
        var outputNames = new Option<string[]>("--output-name")
        {
            Description = "Names for the model's outputs, once per returned tensor in order. Default: output (one) or output_0, output_1, …",
        };

        var optimize = new Option<string>("--optimize")
        {
            Description = "Graph optimisation: none (as lowered), basic (dead code, identities, constant and shape folding, value_info) " +
                          "or all (basic plus BatchNorm folding, Gemm, LayerNormalization and Gelu fusion). See docs/optimization.md.",
            DefaultValueFactory = _ => "all",
        };
        optimize.AcceptOnlyFromAmong("none", "basic", "all");
        var externalData = new Option<bool>("--external-data")
        {
            Description = "Write the weights to one side file OUT.onnx.data (ONNX external data). Done automatically when the model would exceed protobuf's 2 GB limit.",
        };
        var externalDataThreshold = new Option<long?>("--external-data-threshold")
        {
            Description = "Model size in bytes above which weights go to external data (default 2 GiB − 1; for tests).",
            Hidden = true,
        };

        var command = new Command("convert", "Convert a TorchScript model to ONNX.")
        {
            model, inputs, opset, output, outputNames, optimize, externalData, externalDataThreshold,
        };
        command.SetAction(parse => CommandRunner.Run(parse.InvocationConfiguration.Error, () =>
        {
            var modelFile = parse.GetRequiredValue(model);
            var specs = parse.GetRequiredValue(inputs).Select(InputSpec.Parse).ToList();
            var names = parse.GetValue(outputNames) is { Length: > 0 } given ? given : null;
            var outputPath = parse.GetValue(output)?.FullName ?? Path.ChangeExtension(modelFile.FullName, ".onnx");
            var stopwatch = Stopwatch.StartNew();
            var options = new ConvertOptions(specs, parse.GetValue(opset), names)
            {
                Optimize = Enum.Parse<OptimizeLevel>(parse.GetValue(optimize) ?? "all", ignoreCase: true),
                ExternalData = parse.GetValue(externalData),
            };
            if (parse.GetValue(externalDataThreshold) is { } threshold) options = options with { ExternalDataThreshold = threshold };
            using var result = ModelConverter.Convert(modelFile.FullName, options);
            result.WriteTo(outputPath);
            var graph = result.Graph;
            var weights = result.ExternalDataPath is { } dataPath ? $", weights in {Path.GetFileName(dataPath)}" : "";
            parse.InvocationConfiguration.Output.WriteLine(
                $"converted {modelFile.Name} → {outputPath} (opset {parse.GetValue(opset)}, optimize {options.Optimize.ToString().ToLowerInvariant()}, " +
                $"{graph.Nodes.Count} nodes, {graph.Initializers.Count} initializers{weights}, inputs {string.Join(", ", graph.Inputs)}, " +
                $"outputs {string.Join(", ", graph.Outputs)}) in {stopwatch.Elapsed.TotalSeconds:F2} s");
            return ExitCodes.Success;
        }));
        return command;
    }
}
