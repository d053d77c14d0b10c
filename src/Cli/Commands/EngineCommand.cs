using System.CommandLine;
using System.Globalization;
using ModelForge.Core;
using ModelForge.Core.Diagnostics;
using ModelForge.Engine;
using ModelForge.Model;
using ModelForge.Pipeline.Spec;
using ModelForge.Pipeline.Stages;

namespace ModelForge.Cli.Commands;

/// <summary>
/// <c>modelforge engine MODEL.onnx --input … [--precision fp16] [--dim NAME=MIN/OPT/MAX] [--cache DIR] [--require tensorrt]</c>:
/// TensorRT engines through ONNX Runtime's TensorRT provider. Exit 0 when built or skipped (no TensorRT here), 2 for
/// invalid input, a failed build, or a provider named in <c>--require</c> that cannot run here.
/// </summary>
internal static class EngineCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "The ONNX model to build engines for (as written by modelforge convert)." };
        var inputs = CommonOptions.Inputs();
        var precision = new Option<string>("--precision")
        {
            HelpName = "fp32|fp16|bf16",
            Description = "Builder precision: fp32 (with TF32, as TensorRT builds unless told otherwise), fp16 or bf16 (bf16 needs compute capability 8.0+; " +
                          "on older GPUs ONNX Runtime ignores it with a warning).",
            DefaultValueFactory = _ => "fp32",
        };
        var dims = CommonOptions.Dims(
            "Each input's profile spans the ranges of its dims, e.g. --dim batch=1/8/32; any symbolic dim but the batch dim needs one.",
            "the batch dim (dim 0 of the first input, when symbolic) 1/N/N, N = --max-batch");
        // The first spelling, a whole profile per input (NAME:MIN/OPT/MAX, shapes 1x3x224x224 or [1,3,224,224]): it says
        // no more than --dim, whose ranges inputs that share a dim cannot contradict, so it stays only as a hidden alias.
        var profiles = new Option<string[]>("--profile") { Hidden = true };
        var maxBatch = new Option<int>("--max-batch")
        {
            Description = "Largest batch of the batch dim's range when no --dim gives it: 1/N/N (validate checks batches 1 and 8 unless told otherwise).",
            DefaultValueFactory = _ => EngineTarget.DefaultMaxBatch,
        };
        var workspace = new Option<long?>("--workspace-mb") { Description = "Builder workspace limit in MiB. [default: no limit (TensorRT may use all free device memory)]" };
        var builderLevel = new Option<int>("--builder-level")
        {
            Description = "TensorRT builder optimisation level, 0 (fastest build) to 5 (slowest build, most tactics tried).",
            DefaultValueFactory = _ => EngineTarget.DefaultBuilderOptimizationLevel,
        };
        var noTimingCache = new Option<bool>("--no-timing-cache") { Description = "Do not load or save TensorRT's timing cache in the cache folder." };
        var allOnTensorRt = new Option<bool>("--all-on-tensorrt")
        {
            Description = "Fail the build when any node cannot run on TensorRT, instead of letting ONNX Runtime run it on the CPU " +
                          "(session.disable_cpu_ep_fallback). The EP-context model is only usable when the whole model runs on TensorRT.",
        };
        var cache = new Option<DirectoryInfo?>("--cache")
        {
            Description = "Cache folder. Each build goes into a subfolder named by a hash of the ONNX bytes, the options and the " +
                          "ONNX Runtime version, holding MODEL_ctx.onnx, the engine, the timing cache and manifest.json. " +
                          "[default: an 'engines' folder next to the model]",
        };
        var force = CommonOptions.Force("the cache folder");
        force.Description = "Write engines into the --cache folder even when it holds files ModelForge did not write (nothing there is deleted; " +
                            "engines go into subfolders named by their cache key). Without it such a folder is refused (MF5004, exit 2).";
        var require = new Option<string[]>("--require")
        {
            HelpName = "cuda|tensorrt",
            Description = "Execution providers that must be usable here: tensorrt, cuda (repeatable). Without it, a machine without " +
                          "TensorRT reports 'engine: skipped (reason)' and exits 0; with it, that is error MF6001 and exit 2.",
        };

        var command = new Command("engine", "Build TensorRT engines for an ONNX model through ONNX Runtime's TensorRT execution provider, " +
                                            "with engine caching and an EP-context model, so serving never builds an engine at start-up.")
        {
            model, inputs, precision, dims, profiles, maxBatch, workspace, builderLevel, noTimingCache, allOnTensorRt, cache, require, force,
        };
        HelpText.Add(command,
            "modelforge engine resnet18.onnx --input x:float32[batch,3,64,64]",
            "modelforge engine resnet18.onnx --input x:float32[batch,3,64,64] --precision fp16 --max-batch 16 --cache engines/",
            "modelforge engine resnet18.onnx --input x:float32[batch,3,64,64] --dim batch=1/8/16 --require tensorrt");
        command.SetAction(parse => CommandRunner.Run(parse.InvocationConfiguration.Error, () =>
        {
            var output = parse.InvocationConfiguration.Output;
            var specs = parse.GetRequiredValue(inputs).Select(InputSpec.Parse).ToList();
            var workspaceMb = parse.GetValue(workspace);
            if (workspaceMb is < 1)
                throw new ModelForgeException(DiagnosticCode.EngineTargetInvalid,
                    $"--workspace-mb {workspaceMb} is not positive", null, "give a size in MiB, or leave it out for no limit");
            // The options make a spec's "tensorrt" section; the build's engine stage maps it to the same builder settings.
            var trt = new TensorRtSpec
            {
                Precision = EngineTarget.ParsePrecision(parse.GetValue(precision)!),
                WorkspaceMb = workspaceMb,
                BuilderLevel = parse.GetValue(builderLevel),
                TimingCache = !parse.GetValue(noTimingCache),
                AllOnTensorRt = parse.GetValue(allOnTensorRt),
            };
            var target = EngineStage.TargetFor(trt, ProfilesFor(parse, specs, dims, profiles, maxBatch));
            var request = new EngineRequest(parse.GetRequiredValue(model).FullName, specs, target)
            {
                CacheRoot = parse.GetValue(cache)?.FullName,
                Force = parse.GetValue(force),
                Required = (parse.GetValue(require) ?? []).Select(EngineTarget.ParseRequirement).ToList(),
            };

            // What --dim and the defaults made, before the probe: the same on a machine without TensorRT.
            foreach (var profile in target.Profiles) output.WriteLine($"engine: profile {profile}");
            var result = EngineBuilder.Build(request);
            output.WriteLine(result.Cuda.Available ? "cuda: available" : $"cuda: skipped ({result.Cuda.Reason})");
            if (result.Status == EngineBuildStatus.Skipped)
            {
                output.WriteLine($"engine: skipped ({result.Reason})");
                return ExitCodes.Success;
            }
            foreach (var note in result.Notes) output.WriteLine($"engine: note: {note}");
            var manifest = result.Manifest;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"engine: built {EngineTarget.NameOf(target.Precision)} for {manifest.Gpu?.Name ?? "unknown GPU"} (TensorRT {manifest.TensorRtVersion ?? "?"}) " +
                $"in {manifest.BuildSeconds:F1} s: {result.Layout.Directory}"));
            output.WriteLine($"wrote {result.Layout.ManifestPath}");
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>The profiles <c>--dim</c>, the legacy <c>--profile</c> and <c>--max-batch</c> make for the declared inputs.</summary>
    private static IReadOnlyList<ShapeProfile> ProfilesFor(ParseResult parse, IReadOnlyList<InputSpec> specs, Option<string[]> dims,
        Option<string[]> profiles, Option<int> maxBatch)
    {
        var ranges = ShapeProfiles.WithProfiles(specs, DimRange.ParseAll(parse.GetValue(dims) ?? [], specs),
            (parse.GetValue(profiles) ?? []).Select(ShapeProfile.Parse).ToList());
        if (BatchDim.Of(specs) is { } batchDim && ranges.TryGetValue(batchDim, out var range) && parse.GetResult(maxBatch) is { Implicit: false })
            throw new ModelForgeException(DiagnosticCode.CommandLineInvalid,
                $"--max-batch {parse.GetValue(maxBatch)} and the range {range} of the batch dim '{batchDim}' both say how large a batch gets", null,
                $"give one: --dim {batchDim}=1/{parse.GetValue(maxBatch)}, or leave out --max-batch");
        return ShapeProfiles.Resolve(specs, ranges, parse.GetValue(maxBatch));
    }
}
