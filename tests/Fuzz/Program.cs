// A seeded, coverage-blind mutation fuzzer that runs every target in-process. Why not SharpFuzz + AFL++/libFuzzer:
// those need the assemblies rewritten with coverage instrumentation, an AFL++ or libFuzzer build from Debian packages
// and a fork server per target — far more set-up than a 60 s CI budget pays for, and nothing of it is on the build
// machines. A deterministic mutator over the fixtures finds the shallow crashes (unchecked lengths, bad casts,
// missing bounds checks) that matter most for hostile inputs, needs nothing but the SDK and reproduces from --seed.
// See README.md.

using System.Diagnostics;
using System.Globalization;
using System.IO.MemoryMappedFiles;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Fuzz;

internal static class Program
{
    private sealed class Options
    {
        public List<string> Targets { get; } = [];
        public double Seconds { get; set; } = 60;
        public int Seed { get; set; } = 1;
        public string FindingsDir { get; set; } = "fuzz-findings";
        public int TimeoutMs { get; set; } = 2000;
        public long MaxAllocMb { get; set; } = 1024;
        public long MaxWorkingSetMb { get; set; } = 2048;
        public int MaxInputKb { get; set; } = 1024;
        public string? Replay { get; set; }
    }

    /// <summary>MODELFORGE_FUZZ_VERBOSE=1 prints the first diagnostics of each code (to see how deep mutants get).</summary>
    private static readonly bool Verbose = Environment.GetEnvironmentVariable("MODELFORGE_FUZZ_VERBOSE") == "1";

    public static int Main(string[] args)
    {
        Options options;
        try
        {
            options = Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine("usage: ModelForge.Fuzz [--target NAME|all]... [--seconds S] [--seed N] [--findings DIR] [--timeout-ms MS]");
            Console.Error.WriteLine("                       [--max-alloc-mb MB] [--max-working-set-mb MB] [--max-input-kb KB] [--replay FILE]");
            Console.Error.WriteLine($"targets: {string.Join(", ", ModelForge.Fuzz.Targets.Names)}; --seconds is the total, split evenly over the targets");
            return 2;
        }

        var root = FindRepoRoot();
        Directory.CreateDirectory(options.FindingsDir);
        var scratch = Directory.CreateTempSubdirectory("mf-fuzz-").FullName;
        try
        {
            return options.Replay is null ? Fuzz(options, root, scratch) : Replay(options, root, scratch);
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    private static int Replay(Options options, string root, string scratch)
    {
        var bytes = File.ReadAllBytes(options.Replay!);
        var failed = false;
        foreach (var name in options.Targets)
        {
            var target = ModelForge.Fuzz.Targets.Create(name, root, scratch);
            try
            {
                target.Run(bytes);
                Console.WriteLine($"{name}: ok");
            }
            catch (ModelForgeException e)
            {
                Console.WriteLine($"{name}: {e.Code.AsString()} {e.Message}");
            }
            catch (Exception e)
            {
                Console.WriteLine($"{name}: FINDING {e}");
                failed = true;
            }
        }
        return failed ? 1 : 0;
    }

    private static int Fuzz(Options options, string root, string scratch)
    {
        var perTarget = TimeSpan.FromSeconds(options.Seconds / options.Targets.Count);
        var totalFindings = 0;
        // The input about to run is copied into a file-backed mapping first: if the process dies (a stack overflow
        // cannot be caught), the kernel still writes it out, and the crash can be replayed from it.
        var currentPath = Path.Combine(options.FindingsDir, "current-input.bin");
        using (var current = MemoryMappedFile.CreateFromFile(currentPath, FileMode.Create, null, 64 + options.MaxInputKb * 1024L))
        using (var currentView = current.CreateViewAccessor())
        using (var worker = new Worker())
        {
            foreach (var name in options.Targets)
            {
                var target = ModelForge.Fuzz.Targets.Create(name, root, scratch);
                if (target.Seeds.Count == 0)
                {
                    Console.Error.WriteLine($"{name}: no seeds found under {root}");
                    return 2;
                }
                var random = new Random(HashCode.Combine(options.Seed, StableHash(name)));
                var mutator = new Mutator(random, target.Seeds, target.Dictionary, target.ZipAware, options.MaxInputKb * 1024);
                var seen = new HashSet<string>(StringComparer.Ordinal);
                var findings = 0;
                long executions = 0;
                var stopwatch = Stopwatch.StartNew();
                var seedIndex = 0;
                var outcomes = new SortedDictionary<string, long>(StringComparer.Ordinal);
                while (stopwatch.Elapsed < perTarget || seedIndex < target.Seeds.Count)
                {
                    // Every seed runs once unmutated first (they must all pass), then mutants of random seeds.
                    var input = seedIndex < target.Seeds.Count ? target.Seeds[seedIndex++] : mutator.Mutate(target.Seeds[random.Next(target.Seeds.Count)]);
                    currentView.Write(0, StableHash(name));
                    currentView.Write(4, input.Length);
                    currentView.WriteArray(8, input, 0, Math.Min(input.Length, options.MaxInputKb * 1024));

                    var outcome = worker.Run(target.Run, input, executions == 0 ? options.TimeoutMs * 10 : options.TimeoutMs);
                    executions++;
                    var key = outcome.Kind == OutcomeKind.Diagnostic ? outcome.Code! : outcome.Kind.ToString().ToLowerInvariant();
                    outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
                    if (Verbose && outcomes[key] <= 12 && outcome.Message is not null) Console.WriteLine($"    {key}: {outcome.Message}");
                    string? problem = outcome.Kind switch
                    {
                        OutcomeKind.Ok or OutcomeKind.Diagnostic => null,
                        OutcomeKind.Crash => outcome.Exception!.ToString(),
                        OutcomeKind.Hang => $"hang: no result after {options.TimeoutMs} ms",
                        _ => null,
                    };
                    if (problem is null && outcome.AllocatedBytes > options.MaxAllocMb << 20)
                        problem = $"memory: allocated {outcome.AllocatedBytes >> 20} MiB for one input (cap {options.MaxAllocMb} MiB)";
                    if (problem is null && executions % 64 == 0 && Environment.WorkingSet > options.MaxWorkingSetMb << 20)
                        problem = $"memory: working set {Environment.WorkingSet >> 20} MiB (cap {options.MaxWorkingSetMb} MiB)";
                    if (problem is not null)
                    {
                        var signature = outcome.Kind == OutcomeKind.Crash ? Signature(outcome.Exception!) : problem.Split(':')[0];
                        if (seen.Add(signature))
                        {
                            findings++;
                            var file = Path.Combine(options.FindingsDir, $"{name}-{findings:D3}-{Sanitize(signature)}");
                            File.WriteAllBytes(file + target.Extension, input);
                            File.WriteAllText(file + ".txt", $"target: {name}\nseed: {options.Seed}\nexecution: {executions}\n{problem}\n");
                            Console.WriteLine($"  FINDING {name} #{findings}: {FirstLine(problem)} -> {file}{target.Extension}");
                        }
                        if (outcome.Kind == OutcomeKind.Hang)
                        {
                            // A hung thread cannot be stopped in .NET: report what we have and leave.
                            Console.WriteLine($"{name}: {executions} executions, {findings} finding(s) (stopped at a hang)");
                            Console.Out.Flush();
                            Environment.Exit(1);
                        }
                    }
                }
                var rate = executions / Math.Max(stopwatch.Elapsed.TotalSeconds, 1e-9);
                var line = $"{name}: {executions} executions in {stopwatch.Elapsed.TotalSeconds:F1} s ({rate:F0}/s), {target.Seeds.Count} seeds, {findings} finding(s)";
                Console.WriteLine(line);
                Console.WriteLine("  outcomes: " + string.Join(", ", outcomes.Select(p => $"{p.Key} {p.Value}")));
                totalFindings += findings;
            }
        }
        File.Delete(currentPath);
        Console.WriteLine($"total: {totalFindings} finding(s)");
        return totalFindings == 0 ? 0 : 1;
    }

    /// <summary>Exception type and the innermost ModelForge frame: one finding per distinct bug, not per input.</summary>
    private static string Signature(Exception e)
    {
        var frame = new StackTrace(e, fNeedFileInfo: false).GetFrames()
            .Select(f => f.GetMethod())
            .FirstOrDefault(m => m?.DeclaringType?.FullName?.StartsWith("ModelForge.", StringComparison.Ordinal) == true
                                 && m.DeclaringType.FullName?.StartsWith("ModelForge.Fuzz", StringComparison.Ordinal) != true);
        var where = frame is null ? "unknown" : $"{frame.DeclaringType!.Name}.{frame.Name}";
        return $"{e.GetType().Name}@{where}";
    }

    private static string Sanitize(string s) => new(s.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '@' ? c : '_').Take(100).ToArray());

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    private static int StableHash(string s)
    {
        var h = 17;
        foreach (var c in s) h = unchecked(h * 31 + c);
        return h;
    }

    private static Options Parse(string[] args)
    {
        var options = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--target":
                    var t = Value();
                    if (t == "all") options.Targets.AddRange(ModelForge.Fuzz.Targets.Names);
                    else options.Targets.AddRange(t.Split(','));
                    break;
                case "--seconds": options.Seconds = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--seed": options.Seed = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--findings": options.FindingsDir = Value(); break;
                case "--timeout-ms": options.TimeoutMs = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--max-alloc-mb": options.MaxAllocMb = long.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--max-working-set-mb": options.MaxWorkingSetMb = long.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--max-input-kb": options.MaxInputKb = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--replay": options.Replay = Value(); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }
        if (options.Targets.Count == 0) options.Targets.AddRange(ModelForge.Fuzz.Targets.Names);
        foreach (var t in options.Targets)
            if (!ModelForge.Fuzz.Targets.Names.Contains(t)) throw new ArgumentException($"unknown target '{t}'");
        return options;
    }

    private static string FindRepoRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "ModelForge.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("ModelForge.sln not found above the current directory");
    }
}
