// spdlog's plain stderr sink, compiled into berthd beside conmon/static_logging.cc (the rest of
// spdlog and fmt) when berthd is linked with static dependencies: berth-mon logs through its
// own sink, berthd through common/log.cc's stderr_logger_mt. The same explicit instantiations
// as spdlog's own stdout_sinks.cpp.
#ifndef SPDLOG_COMPILED_LIB
#error "static_stderr_sink.cc is built with SPDLOG_COMPILED_LIB"
#endif

#include <spdlog/details/console_globals.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks-inl.h>

template class spdlog::sinks::stdout_sink_base<spdlog::details::console_mutex>;
template class spdlog::sinks::stdout_sink_base<spdlog::details::console_nullmutex>;
template class spdlog::sinks::stderr_sink<spdlog::details::console_mutex>;
template class spdlog::sinks::stderr_sink<spdlog::details::console_nullmutex>;
template std::shared_ptr<spdlog::logger> spdlog::stderr_logger_mt<spdlog::synchronous_factory>(
    const std::string& logger_name);
