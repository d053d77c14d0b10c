using System.CommandLine;
using System.Text;
using ModelForge.Core;
using ModelForge.Core.IO;
using ModelForge.Pipeline;
using ModelForge.Pipeline.Spec;

namespace ModelForge.Cli.Commands;

/// <summary>
/// <c>modelforge build SPEC.modelforge.json | MODEL.pt --input … [--dim NAME=MIN/OPT/MAX] [--opset N] [--optimize …] [--external-data] [-o DIR]</c>: the whole pipeline, incrementally.
/// Exit 0 when built or up to date (an accuracy mismatch in warning mode included), 1 when the accuracy gate failed,
/// 2 for invalid input.
/// </summary>
internal static class BuildCommand
{
    public static Command Create()
    {
        var source = new Argument<FileInfo>("spec-or-model")
        {
            Description = "A model spec (*.modelforge.json; see schemas/modelforge.schema.json), or a TorchScript .pt with --input.",
        };
        var inputs = CommonOptions.Inputs();
        inputs.Required = false;
        inputs.Description = "With a .pt: " + inputs.Description;
        // A spec sets these in its "dims" and "onnx" sections; for a .pt the command line is the only place to say them.
        var dims = CommonOptions.Dims("Validation runs the batch dim at MIN and OPT, any other dim at OPT, e.g. --dim seq=1/128/512.");
        var opset = CommonOptions.Opset();
        var optimize = CommonOptions.Optimize();
        var externalData = CommonOptions.ExternalData();
        foreach (var option in new Option[] { dims, opset, optimize, externalData }) option.Description = "With a .pt: " + option.Description;
        var output = new Option<DirectoryInfo?>("--output", "-o")
        {
            Description = "Output folder, replaced as a whole by each build. [default: the spec's \"output\", else out/NAME next to the spec, " +
                          "or out/NAME in the current folder for a .pt]",
        };
        var onFailure = new Option<string?>("--on-accuracy-failure")
        {
            Description = "error: an accuracy mismatch fails the build (exit 1) and publishes nothing; warning: it is reported as a " +
                          "warning and the bundle is still written. [default: the spec's validate.onFailure, else error]",
        };
        onFailure.AcceptOnlyFromAmong("error", "warning");
        var engineCache = new Option<DirectoryInfo?>("--engine-cache")
        {
            Description = "TensorRT engine cache shared between builds. [default: ~/.cache/modelforge/engines, under $XDG_CACHE_HOME when set]",
        };
        var progress = new Option<string>("--progress")
        {
            Description = "auto: a live display on a terminal, plain lines when output is redirected or CI is set; plain; live.",
            DefaultValueFactory = _ => "auto",
        };
        progress.AcceptOnlyFromAmong("auto", "plain", "live");
        var dependencyFile = new Option<FileInfo?>("--dependency-file")
        {
            HelpName = "FILE",
            Description = "Also write the absolute path of every file the build read (spec, model, handler, requirements, extra files), " +
                          "one per line, sorted; written when up to date too. For build systems: MSBuild's ModelForge.Build feeds it back as Inputs.",
        };
        var tune = CommonOptions.Tune(null);
        var force = CommonOptions.Force("the output folder (and the engine cache)");

        var command = new Command("build",
            "Run the whole pipeline for one model: convert → TensorRT engines (where TensorRT runs) → validate → build manifest. " +
            "Incremental: with the spec, the model and the tool unchanged and the previous output intact, it does nothing.")
        {
            source, inputs, dims, opset, optimize, externalData, output, onFailure, engineCache, progress, dependencyFile, tune, force,
        };
        var lockMode = CommonOptions.AddTuningLockModes(command, "NAME.tuning.lock.json next to the spec");
        HelpText.Add(command,
            "modelforge build examples/resnet18/resnet18.modelforge.json",
            "modelforge build fixtures/models/resnet18_small/model.pt --input x:float32[batch,3,64,64] --dim batch=1/4/8 -o out/resnet18",
            "modelforge build examples/resnet18/resnet18.modelforge.json --tune off --progress plain   # a CI smoke build");
        command.SetAction(parse => CommandRunner.Run(parse.InvocationConfiguration.Error, () =>
        {
            var declared = new TorchScriptOptions(parse.GetValue(inputs) ?? [], parse.GetValue(opset),
                parse.GetValue(optimize) is { } level ? CommonOptions.OptimizeLevelOf(level) : null, parse.GetValue(externalData))
            {
                Dims = parse.GetValue(dims) ?? [],
            };
            var spec = SpecSource.Load(parse.GetRequiredValue(source).FullName, declared, parse.GetValue(output)?.FullName);
            if (parse.GetValue(onFailure) is { } mode)
                spec = spec with { Validation = spec.Validation with { OnFailure = mode == "warning" ? GateMode.Warning : GateMode.Error } };
            if (parse.GetValue(tune) is { } tuning && spec.Package is { } package)
                spec = spec with { Package = package with { Tuning = CommonOptions.TuningLevelOf(tuning) } };
            var settings = new BuildSettings
            {
                EngineCacheRoot = parse.GetValue(engineCache)?.FullName,
                Force = parse.GetValue(force),
                PassTrace = CommonOptions.IsVerbose(parse) ? parse.InvocationConfiguration.Output : null,
                TuningLock = lockMode(parse),
            };

            var result = UseLiveDisplay(parse.GetValue(progress)!, parse.InvocationConfiguration.Output)
                ? LiveBuildReporter.Run(reporter => BuildPipeline.Run(spec, reporter, settings))
                : BuildPipeline.Run(spec, new PlainBuildReporter(parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error), settings);
            if (parse.GetValue(dependencyFile) is { } dependencies) WriteDependencyFile(dependencies.FullName, spec);
            if (result.Status != BuildStatus.GateFailed) return ExitCodes.Success;
            parse.InvocationConfiguration.Error.WriteLine(result.Gate!.Format());
            return ExitCodes.AccuracyGateFailed;
        }));
        return command;
    }

    /// <summary>
    /// One absolute path per line (UTF-8, '\n'), not a make-style .d file: MSBuild reads it with ReadLinesFromFile, which
    /// takes each line as one item and escapes it, so paths with spaces or ';' need no quoting rules of their own.
    /// </summary>
    private static void WriteDependencyFile(string path, ModelSpec spec)
    {
        var text = string.Concat(BuildPipeline.InputPaths(spec).Select(file => file + "\n"));
        AtomicFile.Write(path, stream => stream.Write(new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text)));
    }

    private static bool UseLiveDisplay(string mode, TextWriter output) => mode switch
    {
        "live" => true,
        "plain" => false,
        _ => output == Console.Out && !Console.IsOutputRedirected && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))
             && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb"),
    };
}
