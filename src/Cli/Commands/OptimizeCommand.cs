using System.CommandLine;
using ModelForge.Convert.Emit;
using ModelForge.Core;
using ModelForge.Optimize;

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

        var command = new Command("optimize", "Rewrite an ONNX model to another precision (int8 calibrated in ONNX Runtime, dynamic int8, fp16).") { model };
        precision.AddTo(command);
        command.Options.Add(output);
        command.Options.Add(force);
        HelpText.Add(command,
            "modelforge optimize resnet18.onnx --precision int8 --calibration calibration.npz -o resnet18.int8.onnx",
            "modelforge optimize encoder.onnx --precision int8-dynamic",
            "modelforge optimize resnet18.onnx --precision fp16 --calibration calibration.npz");
        command.SetAction(parse => CommandRunner.Run(parse.InvocationConfiguration.Error, () =>
        {
            var modelFile = parse.GetRequiredValue(model);
            var outputPath = parse.GetValue(output)?.FullName ?? Path.ChangeExtension(modelFile.FullName, $".{precision.TargetOf(parse).Name()}.onnx");
            var request = precision.Request(parse, modelFile.FullName, outputPath);
            OnnxOutputFile.EnsureWritable(outputPath, parse.GetValue(force));
            var error = parse.InvocationConfiguration.Error;
            var summary = ModelOptimizer.Run(request, warning => error.WriteLine(warning.Format()));
            PrecisionOptions.Describe(parse.InvocationConfiguration.Output, modelFile.Name, outputPath, summary);
            return ExitCodes.Success;
        }));
        return command;
    }
}
