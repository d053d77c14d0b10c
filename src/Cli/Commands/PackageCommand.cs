using System.Globalization;
using System.CommandLine;
using ModelForge.Core;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using ModelForge.Model;
using ModelForge.Package;
using ModelForge.Package.Processing;
using ModelForge.Package.TorchServe;
using ModelForge.Package.Triton;
using ModelForge.Package.Tuning;
using ModelForge.Package.Tuning.Traffic;
using ModelForge.Pipeline;
using ModelForge.Pipeline.Spec;
using ModelForge.Pipeline.Stages;

namespace ModelForge.Cli.Commands;

/// <summary>
/// <c>modelforge package MODEL.onnx --source MODEL.pt --input … --name NAME [--torchserve] [--triton] [--triton-repository REPO [--new-config]] [--kserve --storage-uri URI]
/// [--latency-budget-ms N [--traffic-rps N [--arrival poisson|bursty|deterministic] [--burst-size N]]] -o DIR</c>: serving bundles with measured batching. Exit 0, or 2 for invalid input or a bundle
/// rule the server would reject.
/// </summary>
internal static class PackageCommand
{
    public static Command Create()
    {
        var onnx = new Argument<FileInfo>("onnx") { Description = "The converted ONNX model (modelforge convert output)." };
        var source = new Option<FileInfo?>("--source") { Description = "The original TorchScript .pt: the model inside the .mar unless --serialized onnx." };
        var inputs = CommonOptions.Inputs();
        var name = new Option<string>("--name") { HelpName = "NAME", Description = "Model name in the bundles (TorchServe model name, Triton model folder).", Required = true };
        var torchServe = new Option<bool>("--torchserve") { Description = "Write a TorchServe .mar and config.properties. [default: with neither --torchserve nor --triton, both bundles]" };
        var triton = new Option<bool>("--triton") { Description = "Write a Triton model repository. [default: with neither --torchserve nor --triton, both bundles]" };
        var tritonRepository = new Option<DirectoryInfo?>("--triton-repository")
        {
            HelpName = "REPO",
            Description = "Add the Triton model to this existing repository as its next version (N+1; created when absent) instead of writing triton/ in -o. " +
                          "Existing versions and other models are never touched; the model's config.pbtxt is replaced only by one with the same interface (see --new-config). Implies --triton.",
        };
        var newConfig = new Option<bool>("--new-config")
        {
            Description = "With --triton-repository: the model's inputs/outputs may differ from the existing config.pbtxt (the interface change is intended); the output lists the clients it breaks.",
        };
        var versionPolicy = new Option<string>("--version-policy")
        {
            HelpName = "latest:N|all|specific:V,…",
            Description = "Triton's version_policy: which versions of the model the server loads.",
            DefaultValueFactory = _ => "latest:1",
        };
        var warmupSample = new Option<FileInfo?>("--warmup-sample")
        {
            HelpName = "FILE.npz",
            Description = "Triton warms the model up on the first sample of this .npz (one array per input, batch dim first) instead of zeros.",
        };
        var responseCache = new Option<bool>("--response-cache")
        {
            Description = "Triton answers identical requests from its response cache (start tritonserver with --cache-config local,size=BYTES); for deterministic models.",
        };
        var kserve = new Option<bool>("--kserve") { Description = "Also write KServe InferenceService YAML and storage layouts for each bundle (needs --storage-uri)." };
        var storageUri = new Option<string?>("--storage-uri") { HelpName = "URI", Description = "Where kserve/storage/ will be uploaded, e.g. s3://bucket/models/resnet; the InferenceServices read URI/torchserve and URI/triton." };
        var budget = new Option<double?>("--latency-budget-ms") { Description = "p99 latency budget: the tuner picks the highest throughput within it." };
        var trafficRate = new Option<double?>("--traffic-rps")
        {
            HelpName = "N",
            Description = "Tune the dynamic batcher for N requests/s: the configuration that meets --latency-budget-ms at that rate in a simulation of Triton's batcher over the measured service times, with the fewest instances (docs/tuning.md).",
        };
        var arrival = new Option<string?>("--arrival") { Description = "How the --traffic-rps requests arrive. [default: poisson]" };
        arrival.AcceptOnlyFromAmong("poisson", "bursty", "deterministic");
        var burstSize = new Option<int?>("--burst-size") { HelpName = "N", Description = $"Requests per burst with --arrival bursty. [default: {TrafficProfile.DefaultBurstSize}]" };
        var tune = CommonOptions.Tune("quick");
        var maxBatch = new Option<int?>("--max-batch") { Description = "The largest batch the bundles may accept; the tuner's grid stops there." };
        var device = new Option<string>("--device") { Description = "cpu or gpu: Triton's instance kind, TorchServe's deviceType.", DefaultValueFactory = _ => "cpu" };
        device.AcceptOnlyFromAmong("cpu", "gpu");
        var engine = new Option<DirectoryInfo?>("--engine")
        {
            Description = "An engine folder from modelforge engine: Triton serves its EP-context model through the TensorRT accelerator (implies --device gpu).",
        };
        var handler = new Option<string>("--handler") { HelpName = "NAME|FILE.py", Description = "TorchServe handler: a built-in name or a handler .py file.", DefaultValueFactory = _ => "base_handler" };
        var extraFiles = new Option<string[]>("--extra-file") { HelpName = "FILE", Description = "A file for the .mar, e.g. index_to_name.json (repeatable)." };
        var format = new Option<string>("--archive-format") { Description = "TorchServe archive: default (.mar zip), tgz or no-archive.", DefaultValueFactory = _ => "default" };
        format.AcceptOnlyFromAmong("default", "tgz", "no-archive");
        var serialized = new Option<string>("--serialized") { Description = "Model inside the .mar: torchscript (the --source .pt) or onnx.", DefaultValueFactory = _ => "torchscript" };
        serialized.AcceptOnlyFromAmong("torchscript", "onnx");
        var output = new Option<DirectoryInfo>("--output", "-o") { HelpName = "DIR", Description = "Output folder, replaced as a whole (refused when it holds files ModelForge did not write; see --force).", Required = true };
        var force = CommonOptions.Force("the output folder");
        var tuningLock = new Option<FileInfo?>("--tuning-lock")
        {
            HelpName = "FILE",
            Description = "Record the tuning decision in FILE and reuse it while the model, --input, the tuning settings and this " +
                          "machine's class are unchanged, so the bundles come out byte-identical. [default: no lock, measure every time]",
        };

        var processing = ProcessingOptionsOf.Create();

        var command = new Command("package", "Write serving bundles (TorchServe .mar, Triton repository, KServe manifests) with batching tuned by measurement on this machine.")
        {
            onnx, source, inputs, name, torchServe, triton, tritonRepository, newConfig, versionPolicy, warmupSample, responseCache, kserve, storageUri, budget, trafficRate, arrival, burstSize, tune, maxBatch, device, engine, handler, extraFiles, format, serialized, output, force, tuningLock,
        };
        foreach (var option in processing.All) command.Options.Add(option);
        var lockMode = CommonOptions.AddTuningLockModes(command, "--tuning-lock");
        HelpText.Add(command,
            "modelforge package resnet18.onnx --source fixtures/models/resnet18_small/model.pt --input x:float32[batch,3,64,64] --name resnet18 -o bundles/",
            "modelforge package resnet18.onnx --input x:float32[batch,3,64,64] --name resnet18 --triton-repository /srv/models --version-policy latest:2 --tune off -o bundles/",
            "modelforge package resnet18.onnx --source model.pt --input x:float32[batch,3,64,64] --name resnet18 --preprocess hwc --image-size 96x96 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --softmax --top-k 5 --labels labels.txt -o bundles/");
        command.SetAction(parse => CommandRunner.Run(parse.InvocationConfiguration.Error, () =>
        {
            var console = parse.InvocationConfiguration.Output;
            var repository = parse.GetValue(tritonRepository)?.FullName;
            var wantsTriton = parse.GetValue(triton) || repository is not null;
            var bothByDefault = !parse.GetValue(torchServe) && !wantsTriton;
            if (parse.GetValue(newConfig) && repository is null)
                throw new ModelForgeException(DiagnosticCode.CommandLineInvalid, "--new-config accepts an interface change in an existing Triton repository, and none was given",
                    null, "add --triton-repository REPO");
            if ((parse.GetValue(warmupSample) is not null || parse.GetValue(responseCache)) && !bothByDefault && !wantsTriton)
                throw new ModelForgeException(DiagnosticCode.CommandLineInvalid, "--warmup-sample and --response-cache are Triton settings, and no Triton repository is written",
                    null, "add --triton");
            if (parse.GetValue(kserve) && parse.GetValue(storageUri) is null)
                throw new ModelForgeException(DiagnosticCode.KServeSpecInvalid, "--kserve needs --storage-uri: the InferenceService must say where the model is",
                    null, "e.g. --storage-uri s3://bucket/models/NAME");
            // The options make a spec's "package" section; the build's package stage maps it to the same request.
            var package = new PackageSpec
            {
                Device = parse.GetValue(device) == "gpu" ? DeviceKind.Gpu : DeviceKind.Cpu,
                Tuning = CommonOptions.TuningLevelOf(parse.GetValue(tune)!),
                LatencyBudgetMs = parse.GetValue(budget),
                Traffic = TrafficOf(parse.GetValue(trafficRate), parse.GetValue(arrival), parse.GetValue(burstSize)),
                TorchServe = bothByDefault || parse.GetValue(torchServe)
                    ? new TorchServeOptions { Format = ParseFormat(parse.GetValue(format)!), Serialized = parse.GetValue(serialized) == "onnx" ? SerializedModel.Onnx : SerializedModel.TorchScript }
                    : null,
                Handler = parse.GetValue(handler)!,
                ExtraFiles = (parse.GetValue(extraFiles) ?? []).Select(Path.GetFullPath).ToList(),
                Triton = bothByDefault || wantsTriton
                    ? new TritonOptions
                    {
                        VersionPolicy = TritonVersionPolicy.Parse(parse.GetValue(versionPolicy)!),
                        Repository = repository,
                        NewConfig = parse.GetValue(newConfig),
                        Settings = new TritonSettings { WarmupSample = parse.GetValue(warmupSample)?.FullName, ResponseCache = parse.GetValue(responseCache) },
                    }
                    : null,
                KServeStorageUri = parse.GetValue(kserve) ? parse.GetValue(storageUri) : null,
                Processing = processing.Read(parse),
            };
            var request = PackageStage.RequestFor(parse.GetRequiredValue(name), package, parse.GetRequiredValue(onnx).FullName, parse.GetValue(source)?.FullName,
                parse.GetRequiredValue(inputs).Select(InputSpec.Parse).ToList(), null, parse.GetValue(engine)?.FullName);
            var targets = PackageStage.TargetsFor(package, parse.GetValue(maxBatch)) with
            {
                LockPath = parse.GetValue(tuningLock)?.FullName,
                LockMode = lockMode(parse),
            };
            if (targets.LockPath is null && targets.LockMode != TuningLockMode.Reuse)
                throw new ModelForgeException(DiagnosticCode.CommandLineInvalid, "--retune and --locked act on a tuning lock, and none was given",
                    null, "add --tuning-lock FILE");

            using var staged = StagedOutput.Begin(parse.GetRequiredValue(output).FullName, parse.GetValue(force));
            var result = Packager.Package(request, targets, staged.StagingDirectory, new Progress<string>(console.WriteLine));
            staged.Publish();
            foreach (var warning in result.Warnings) parse.InvocationConfiguration.Error.WriteLine(warning.Format());
            // Printed, not only recorded in tuning.json: CI logs and the MSBuild task see MSBuild-format warnings.
            foreach (var warning in result.Tuning?.Warnings ?? [])
                parse.InvocationConfiguration.Error.WriteLine(warning.ToDiagnostic(new SourceLocation(request.OnnxPath)).Format());
            console.WriteLine($"batching: {BatchTuner.Describe(result.Batching)}" + (result.ReusedLock ? $" (reused from {targets.LockPath})" : ""));
            foreach (var path in result.Written)
                console.WriteLine($"wrote {Path.Combine(staged.OutputDirectory, Path.GetRelativePath(staged.StagingDirectory, path))}");
            foreach (var line in result.TritonVersions.SelectMany(added => added.Describe(package.Triton!.VersionPolicy))) console.WriteLine(line);
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>The common cases of a spec's <c>preprocess</c>/<c>postprocess</c> as options; the spec has the rest (<c>resize: false</c>).</summary>
    private sealed record ProcessingOptionsOf(Option<string?> Layout, Option<string> ChannelOrder, Option<string?> ImageSize, Option<string?> Mean, Option<string?> Std,
        Option<bool> Softmax, Option<int?> TopK, Option<bool> Argmax, Option<FileInfo?> Labels, Option<bool> Fuse)
    {
        public IEnumerable<Option> All => [Layout, ChannelOrder, ImageSize, Mean, Std, Softmax, TopK, Argmax, Labels, Fuse];

        public static ProcessingOptionsOf Create()
        {
            var layout = new Option<string?>("--preprocess") { HelpName = "hwc|nchw", Description = "Serve the model behind image preprocessing: requests are uint8 images in this layout (a Triton ensemble NAME_ensemble, and a generated TorchServe handler)." };
            layout.AcceptOnlyFromAmong("hwc", "nchw");
            var order = new Option<string>("--channel-order") { Description = "With --preprocess: the request's channel order (the model takes rgb).", DefaultValueFactory = _ => "rgb" };
            order.AcceptOnlyFromAmong("rgb", "bgr");
            return new ProcessingOptionsOf(layout, order,
                new Option<string?>("--image-size") { HelpName = "HxW", Description = "With --preprocess: the request's image size, resized bilinearly to the model's. [default: the model's]" },
                new Option<string?>("--mean") { HelpName = "M,M,M", Description = "With --preprocess: per-channel mean on the 0..1 scale." },
                new Option<string?>("--std") { HelpName = "S,S,S", Description = "With --preprocess: per-channel standard deviation on the 0..1 scale." },
                new Option<bool>("--softmax") { Description = "Postprocess the model's [N, classes] output: scores are softmax probabilities." },
                new Option<int?>("--top-k") { HelpName = "K", Description = "Postprocess: also return topk_scores and topk_indices." },
                new Option<bool>("--argmax") { Description = "Postprocess: also return class_index." },
                new Option<FileInfo?>("--labels") { HelpName = "FILE", Description = "Postprocess: one label per class, the label_filename of the scores output (Triton's classification extension)." },
                new Option<bool>("--fuse-pre-post") { Description = "Also write the preprocessing, the model and the postprocessing fused into one ONNX model (Triton model NAME_fused)." });
        }

        public ProcessingOptions? Read(ParseResult parse)
        {
            var layout = parse.GetValue(Layout);
            var post = parse.GetValue(Softmax) || parse.GetValue(TopK) is not null || parse.GetValue(Argmax) || parse.GetValue(Labels) is not null;
            if (layout is null && (parse.GetValue(ImageSize) ?? parse.GetValue(Mean) ?? parse.GetValue(Std)) is not null)
                throw Usage("--image-size, --mean and --std describe image preprocessing, and --preprocess is not given", "add --preprocess hwc (or nchw)");
            if (layout is null && !post)
            {
                if (parse.GetValue(Fuse)) throw Usage("--fuse-pre-post fuses preprocessing or postprocessing, and neither is given", "add --preprocess or a postprocessing option");
                return null;
            }
            var size = parse.GetValue(ImageSize)?.Split('x') is { } parts
                ? (parts.Length == 2 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out var h) && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var w)
                    ? (h, w) : throw Usage($"--image-size '{parse.GetValue(ImageSize)}' is not HEIGHTxWIDTH", "e.g. --image-size 224x224"))
                : ((long, long)?)null;
            return new ProcessingOptions
            {
                Preprocess = layout is null ? null : new ImagePreprocess
                {
                    Layout = layout == "nchw" ? ImageLayout.Nchw : ImageLayout.Hwc,
                    ChannelOrder = parse.GetValue(ChannelOrder) == "bgr" ? Package.Processing.ChannelOrder.Bgr : Package.Processing.ChannelOrder.Rgb,
                    Height = size?.Item1,
                    Width = size?.Item2,
                    Mean = Floats(parse.GetValue(Mean), "--mean"),
                    Std = Floats(parse.GetValue(Std), "--std"),
                },
                Postprocess = post ? new ClassifierPostprocess
                {
                    Softmax = parse.GetValue(Softmax),
                    TopK = parse.GetValue(TopK),
                    Argmax = parse.GetValue(Argmax),
                    LabelFile = parse.GetValue(Labels)?.FullName,
                } : null,
                Fused = parse.GetValue(Fuse),
            };
        }

        private static List<float> Floats(string? text, string option) => text is null ? []
            : text.Split(',').Select(v => float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) ? f
                : throw Usage($"{option} '{text}' is not a comma-separated list of numbers", $"e.g. {option} 0.485,0.456,0.406")).ToList();

        private static ModelForgeException Usage(string message, string hint) => new(DiagnosticCode.CommandLineInvalid, message, null, hint);
    }

    /// <summary>The traffic profile of <c>--traffic-rps</c>, <c>--arrival</c> and <c>--burst-size</c>; the last two mean nothing without a rate.</summary>
    private static TrafficProfile? TrafficOf(double? rate, string? arrival, int? burstSize)
    {
        if (rate is null)
            return arrival is null && burstSize is null ? null
                : throw new ModelForgeException(DiagnosticCode.CommandLineInvalid, "--arrival and --burst-size describe the traffic of --traffic-rps, and none was given",
                    null, "add --traffic-rps N (requests/s) and --latency-budget-ms to tune for that traffic");
        return TrafficProfile.Of(rate.Value, Enum.Parse<ArrivalProcess>(arrival ?? "poisson", ignoreCase: true), burstSize);
    }

    private static MarFormat ParseFormat(string text) => text switch
    {
        "tgz" => MarFormat.Tgz,
        "no-archive" => MarFormat.NoArchive,
        _ => MarFormat.Default,
    };
}
