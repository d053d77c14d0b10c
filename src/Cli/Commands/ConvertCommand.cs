using System.CommandLine;
using System.Diagnostics;
using ModelForge.Convert;
using ModelForge.Convert.Ops;
using ModelForge.Core;

namespace ModelForge.Cli.Commands;

/// <summary><c>modelforge convert MODEL.pt --input NAME:DTYPE[DIMS] … [--opset N] [-o OUT.onnx]</c>.</summary>
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

        var command = new Command("convert", "Convert a TorchScript model to ONNX.") { model, inputs, opset, output, outputNames };
        command.SetAction(parse => CommandRunner.Run(parse.InvocationConfiguration.Error, () =>
        {
            var modelFile = parse.GetRequiredValue(model);
            var specs = parse.GetRequiredValue(inputs).Select(InputSpec.Parse).ToList();
            var names = parse.GetValue(outputNames) is { Length: > 0 } given ? given : null;
            var outputPath = parse.GetValue(output)?.FullName ?? Path.ChangeExtension(modelFile.FullName, ".onnx");
            var stopwatch = Stopwatch.StartNew();
            using var result = ModelConverter.Convert(modelFile.FullName, new ConvertOptions(specs, parse.GetValue(opset), names));
            result.WriteTo(outputPath);
            var graph = result.Graph;
            parse.InvocationConfiguration.Output.WriteLine(
                $"converted {modelFile.Name} → {outputPath} (opset {parse.GetValue(opset)}, {graph.Nodes.Count} nodes, " +
                $"{graph.Initializers.Count} initializers, inputs {string.Join(", ", graph.Inputs)}, outputs {string.Join(", ", graph.Outputs)}) " +
                $"in {stopwatch.Elapsed.TotalSeconds:F2} s");
            return ExitCodes.Success;
        }));
        return command;
    }
}
