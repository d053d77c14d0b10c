using System.CommandLine;
using System.Diagnostics;
using ModelForge.Convert;
using ModelForge.Convert.Emit;
using ModelForge.Convert.Ops;
using ModelForge.Convert.Passes;
using ModelForge.Core;
using ModelForge.Model;
using ModelForge.Optimize;

namespace ModelForge.Cli.Commands;

/// <summary>
/// <c>modelforge convert MODEL.pt --input NAME:DTYPE[DIMS] … [--opset N] [-o OUT.onnx] [--optimize none|basic|all] [--external-data]
/// [--precision fp16|int8|int8-dynamic …]</c>.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model")
        {
            Description = "TorchScript archive to convert (saved with torch.jit.save after torch.jit.trace or torch.jit.script).",
        };
        var inputs = CommonOptions.Inputs();
        var opset = CommonOptions.Opset();
        var output = new Option<FileInfo?>("--output", "-o")
        {
            Description = "Where to write the ONNX model. An existing file is overwritten only when ModelForge wrote it (see --force). " +
                          "[default: MODEL with the extension .onnx, next to it]",
        };
        var force = CommonOptions.Force("an existing -o file (and its .data side file)");
        var outputNames = new Option<string[]>("--output-name")
        {
            HelpName = "NAME",
            Description = "Names for the model's outputs, once per returned tensor in order. [default: output for one, else output_0, output_1, …]",
        };

        var optimize = CommonOptions.Optimize();
        var externalData = CommonOptions.ExternalData();
        var externalDataThreshold = CommonOptions.ExternalDataThreshold();

        var fusedAttention = new Option<bool>("--fused-attention")
        {
            Description = "Lower scaled_dot_product_attention to ONNX Runtime's com.microsoft.MultiHeadAttention where it computes the same " +
                          "(float32 [B, H, L, E] heads; 1.1–1.5× faster on ONNX Runtime's CPU at 128+ tokens). The model then runs on ONNX Runtime only.",
        };

        var precision = new PrecisionOptions(
            "Write the model in this precision: the converted fp32 model rewritten as modelforge optimize does (int8 calibrated " +
            "on --calibration data or generated inputs, int8-dynamic, fp16). Not gated here: modelforge validate --precision " +
            "checks it against libtorch, and a build's onnx.precision does both.");
        var command = new Command("convert", "Convert a TorchScript model to ONNX.")
        {
            model, inputs, opset, output, outputNames, optimize, externalData, externalDataThreshold, fusedAttention, force,
        };
        precision.AddTo(command);
        HelpText.Add(command,
            "modelforge convert fixtures/models/resnet18_small/model.pt --input x:float32[batch,3,64,64] -o resnet18.onnx",
            "modelforge convert fixtures/models/resnet18_small/model.pt --input x:float32[batch,3,64,64] -o resnet18.onnx --opset 13 --optimize basic",
            "modelforge convert fixtures/models/resnet18_small/model.pt --input x:float32[batch,3,64,64] -o resnet18.onnx --external-data -v");
        command.SetAction(parse => CommandRunner.Run(parse.InvocationConfiguration.Error, () =>
        {
            var modelFile = parse.GetRequiredValue(model);
            var specs = parse.GetRequiredValue(inputs).Select(InputSpec.Parse).ToList();
            var names = parse.GetValue(outputNames) is { Length: > 0 } given ? given : null;
            var outputPath = parse.GetValue(output)?.FullName ?? Path.ChangeExtension(modelFile.FullName, ".onnx");
            OnnxOutputFile.EnsureWritable(outputPath, parse.GetValue(force));
            var stopwatch = Stopwatch.StartNew();
            var targetOpset = parse.GetValue(opset) ?? OpRegistry.DefaultOpset;
            var options = new ConvertOptions(specs, targetOpset, names)
            {
                Optimize = CommonOptions.OptimizeLevelOf(parse.GetValue(optimize)),
                ExternalData = parse.GetValue(externalData),
                FusedAttention = parse.GetValue(fusedAttention),
            };
            if (parse.GetValue(externalDataThreshold) is { } threshold) options = options with { ExternalDataThreshold = threshold };
            if (CommonOptions.IsVerbose(parse)) options = options.WithPassTrace(parse.InvocationConfiguration.Output);
            // Another precision: convert into a scratch folder of our own beside the output, then rewrite into the output.
            var scratch = precision.TargetOf(parse) == Precision.Fp32 ? null
                : Path.Combine(Path.GetDirectoryName(outputPath)!, $".modelforge-convert-{Guid.NewGuid():N}");
            var converted = scratch is null ? outputPath : Path.Combine(scratch, "model.onnx");
            var rewrite = scratch is null ? null : precision.Request(parse, converted, outputPath) with { ExternalDataThreshold = options.ExternalDataThreshold };
            try
            {
                using (var result = ModelConverter.Convert(modelFile.FullName, options))
                {
                    foreach (var warning in result.Warnings) parse.InvocationConfiguration.Error.WriteLine(warning.Format());
                    if (scratch is not null) Directory.CreateDirectory(scratch);
                    result.WriteTo(converted);
                    var graph = result.Graph;
                    var weights = result.ExternalDataPath is { } dataPath ? $", weights in {Path.GetFileName(dataPath)}" : "";
                    parse.InvocationConfiguration.Output.WriteLine(
                        $"converted {modelFile.Name} → {(scratch is null ? outputPath : "fp32 (scratch)")} (opset {targetOpset}, optimize {options.Optimize.ToString().ToLowerInvariant()}, " +
                        $"{graph.Nodes.Count} nodes, {graph.Initializers.Count} initializers{weights}, inputs {string.Join(", ", graph.Inputs)}, " +
                        $"outputs {string.Join(", ", graph.Outputs)}) in {stopwatch.Elapsed.TotalSeconds:F2} s");
                }
                if (rewrite is not null)
                {
                    var error = parse.InvocationConfiguration.Error;
                    var summary = ModelOptimizer.Run(rewrite, warning => error.WriteLine(warning.Format()));
                    PrecisionOptions.Describe(parse.InvocationConfiguration.Output, "the converted model", outputPath, rewrite, summary);
                }
            }
            finally
            {
                if (scratch is not null && Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
            }
            return ExitCodes.Success;
        }));
        return command;
    }
}
