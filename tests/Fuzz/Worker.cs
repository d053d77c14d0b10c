namespace ModelForge.Fuzz;

internal enum OutcomeKind { Ok, Diagnostic, Crash, Hang }

internal readonly record struct Outcome(OutcomeKind Kind, Exception? Exception, long AllocatedBytes, string? Code = null, string? Message = null);

/// <summary>
/// Runs inputs on one long-lived thread so that the caller can give up on a hang (a watchdog). The thread has the
/// default stack size of a .NET secondary thread (1.5 MiB on Linux), smaller than a CLI's main thread, so unbounded
/// recursion shows up here first. A stack overflow still kills the process: that is why the current input is
/// mirrored to a file before each run.
/// </summary>
internal sealed class Worker : IDisposable
{
    private readonly Thread _thread;
    private readonly SemaphoreSlim _start = new(0);
    private readonly SemaphoreSlim _done = new(0);
    private Action<byte[]>? _action;
    private byte[]? _input;
    private Outcome _outcome;
    private volatile bool _stop;

    public Worker()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "fuzz-worker" };
        _thread.Start();
    }

    public Outcome Run(Action<byte[]> action, byte[] input, int timeoutMs)
    {
        _action = action;
        _input = input;
        _start.Release();
        return _done.Wait(timeoutMs) ? _outcome : new Outcome(OutcomeKind.Hang, null, 0);
    }

    private void Loop()
    {
        while (true)
        {
            _start.Wait();
            if (_stop) return;
            var before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                _action!(_input!);
                _outcome = new Outcome(OutcomeKind.Ok, null, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            catch (ModelForge.Core.Diagnostics.ModelForgeException e)
            {
                _outcome = new Outcome(OutcomeKind.Diagnostic, null, GC.GetAllocatedBytesForCurrentThread() - before,
                    ModelForge.Core.Diagnostics.DiagnosticCodeExtensions.AsString(e.Code), e.Message);
            }
            catch (Exception e)
            {
                _outcome = new Outcome(OutcomeKind.Crash, e, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            _done.Release();
        }
    }

    public void Dispose()
    {
        _stop = true;
        _start.Release();
        _thread.Join(1000);
    }
}
