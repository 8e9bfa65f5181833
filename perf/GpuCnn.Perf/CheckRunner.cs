using System.Diagnostics;
using System.Reflection;
using System.Text;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace GpuCnn.Perf;

/// <summary>
/// Runs the test suite's cases for chosen back ends from inside this program, so that a single-file bundle can check
/// CUDA and OpenCL on the GPU machine, which has no .NET SDK to run <c>dotnet test</c>:
///   GpuCnn.Perf check [--backends cuda,opencl] [--filter TEXT] [--list]
/// A case is selected when one of its theory arguments names a selected back end (every device test is a theory over
/// <c>Backends.All</c>); <c>--filter</c> keeps cases whose name contains TEXT. It understands what the suite uses:
/// facts and theories (also the skippable kinds), inline and member data, IClassFixture, ITestOutputHelper,
/// IDisposable and async tests. Cases run one after another, those marked <c>[Trait("Speed", "Slow")]</c> last; the
/// exit code is 1 when any fails.
/// </summary>
public static class CheckRunner
{
    sealed class Output : ITestOutputHelper
    {
        public readonly StringBuilder Text = new();
        public void WriteLine(string message) => Text.AppendLine(message);
        public void WriteLine(string format, params object[] args) => Text.AppendLine(string.Format(format, args));
    }

    /// <summary>One runnable case: a test method and its arguments.</summary>
    public sealed record Case(Type Class, MethodInfo Method, object?[] Args, string? SkipReason)
    {
        /// <summary>Class.Method(arg, ...), as test runners print it.</summary>
        public string Name => $"{Class.Name}.{Method.Name}" +
            (Args.Length == 0 ? "" : $"({string.Join(", ", Args.Select(a => a is string s ? $"\"{s}\"" : a?.ToString() ?? "null"))})");
    }

    /// <summary>Every case of the test assembly, theories expanded by their data.</summary>
    public static IEnumerable<Case> Discover(Assembly tests)
    {
        foreach (var type in tests.GetTypes().Where(t => t.IsClass && t.IsPublic && !t.IsAbstract).OrderBy(t => t.FullName))
            foreach (var m in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static).OrderBy(m => m.MetadataToken))
            {
                var fact = m.GetCustomAttribute<FactAttribute>(inherit: true);
                if (fact is null) continue;
                if (fact is not TheoryAttribute)
                {
                    yield return new Case(type, m, [], fact.Skip);
                    continue;
                }
                foreach (var data in m.GetCustomAttributes<DataAttribute>(inherit: true))
                    foreach (var row in data.GetData(m))
                        yield return new Case(type, m, row, fact.Skip ?? data.Skip);
            }
    }

    public static int Run(string[] args)
    {
        string Arg(string name, string def) => Options.Get(args, name, def);
        var backends = Arg("backends", "cuda,opencl").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string? filter = Arg("filter", "") is { Length: > 0 } f ? f : null;
        var cases = Discover(typeof(CheckRunner).Assembly)
            .Where(c => c.Args.Any(a => a is string s && backends.Contains(s, StringComparer.OrdinalIgnoreCase)))
            .Where(c => filter is null || c.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))
            .OrderBy(c => IsSlow(c) ? 1 : 0) // stable: slow cases last, so a step's time limit cuts them, not the rest
            .ToList();
        Console.WriteLine($"check: {cases.Count} cases for back ends {string.Join(", ", backends)}{(filter is null ? "" : $" matching '{filter}'")}");
        if (args.Contains("--list"))
        {
            foreach (var c in cases) Console.WriteLine(c.Name);
            return 0;
        }
        int passed = 0, failed = 0, skipped = 0;
        var fixtures = new Dictionary<Type, object>();
        var total = Stopwatch.StartNew();
        try
        {
            foreach (var c in cases)
            {
                var sw = Stopwatch.StartNew();
                var (outcome, detail) = RunOne(c, fixtures);
                sw.Stop();
                switch (outcome)
                {
                    case "PASS": passed++; break;
                    case "SKIP": skipped++; break;
                    default: failed++; break;
                }
                Console.WriteLine($"{outcome} {c.Name} [{sw.Elapsed.TotalMilliseconds:F0} ms]{(detail is null ? "" : ": " + detail)}");
            }
        }
        finally
        {
            foreach (var fixture in fixtures.Values) (fixture as IDisposable)?.Dispose();
        }
        Console.WriteLine($"{passed} passed, {failed} failed, {skipped} skipped in {total.Elapsed.TotalSeconds:F1} s");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>Cases marked <c>[Trait("Speed", "Slow")]</c> on the method or its class.</summary>
    public static bool IsSlow(Case c) =>
        c.Method.CustomAttributes.Concat(c.Class.CustomAttributes).Any(a => a.AttributeType == typeof(TraitAttribute) &&
            a.ConstructorArguments.Select(x => x.Value as string).SequenceEqual(new[] { "Speed", "Slow" }));

    static (string Outcome, string? Detail) RunOne(Case c, Dictionary<Type, object> fixtures)
    {
        if (c.SkipReason is not null) return ("SKIP", c.SkipReason);
        var output = new Output();
        object? instance = null;
        try
        {
            if (!c.Method.IsStatic)
            {
                var ctor = c.Class.GetConstructors().OrderByDescending(k => k.GetParameters().Length).First();
                var ctorArgs = ctor.GetParameters().Select(p =>
                {
                    if (p.ParameterType == typeof(ITestOutputHelper)) return output;
                    if (!fixtures.TryGetValue(p.ParameterType, out var fx))
                        fixtures[p.ParameterType] = fx = Activator.CreateInstance(p.ParameterType)!;
                    return fx;
                }).ToArray();
                instance = ctor.Invoke(ctorArgs);
            }
            var parameters = c.Method.GetParameters();
            var callArgs = c.Args.Select((a, i) => i < parameters.Length && a is not null && !parameters[i].ParameterType.IsInstanceOfType(a)
                ? Convert.ChangeType(a, parameters[i].ParameterType) : a).ToArray();
            var result = c.Method.Invoke(instance, callArgs);
            if (result is Task task) task.GetAwaiter().GetResult();
            return ("PASS", null);
        }
        catch (Exception e)
        {
            var inner = e is TargetInvocationException { InnerException: { } ie } ? ie : e;
            if (inner.GetType().Name == "SkipException") return ("SKIP", inner.Message);
            string log = output.Text.Length > 0 ? $"\n  output: {output.Text.ToString().TrimEnd().Replace("\n", "\n  ")}" : "";
            return ("FAIL", $"{inner.GetType().Name}: {inner.Message}\n  {inner.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}{log}");
        }
        finally
        {
            (instance as IDisposable)?.Dispose();
        }
    }
}
